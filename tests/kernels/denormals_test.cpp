// train.denormals: FTZ + DAZ really change what the scalar and AVX-512 kernels compute
// with subnormal floats, and 'keep' really keeps IEEE gradual underflow.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "sparsetrain/kernels/denormals.h"
#include "sparsetrain/kernels/kernels.h"

namespace {

namespace k = sparsetrain::kernels;

// Restores the thread's mode when a test ends, so tests do not leak it to each other.
class DenormalsTest : public testing::Test {
 protected:
  void TearDown() override { k::set_denormals(saved_); }
  k::Denormals saved_ = k::current_denormals();
};

// volatile: the compiler must not fold these at compile time (constant folding ignores MXCSR).
volatile float g_tiny = 1e-20f;
volatile uint32_t g_subnormal_bits = 0x00000400u;  // 2^-139, a subnormal

// axpy's y = alpha * x + y on 20 lanes, through one kernel table: a product that
// underflows, and a subnormal input added to 0.
void run_axpy(const k::KernelTable& t, float* product, float* passthrough) {
  float x[20], y[20];
  for (float& v : x) v = g_tiny;
  for (float& v : y) v = 0.0f;
  t.axpy(g_tiny, x, y, 20);  // 1e-40: subnormal
  *product = y[19];          // the masked-tail lane of the AVX-512 version
  const float sub = std::bit_cast<float>(static_cast<uint32_t>(g_subnormal_bits));
  for (float& v : x) v = sub;
  for (float& v : y) v = 0.0f;
  t.add(x, y, 20);
  *passthrough = y[3];
}

TEST_F(DenormalsTest, SetAndReadBack) {
#if !(defined(__x86_64__) || defined(__i386__))
  GTEST_SKIP() << "no MXCSR on this architecture";
#endif
  k::set_denormals(k::Denormals::Flush);
  EXPECT_EQ(k::current_denormals(), k::Denormals::Flush);
  k::set_denormals(k::Denormals::Keep);
  EXPECT_EQ(k::current_denormals(), k::Denormals::Keep);
}

void expect_mode_applies(const k::KernelTable& t) {
  SCOPED_TRACE(t.name);
  float product = -1, passthrough = -1;
  k::set_denormals(k::Denormals::Keep);
  run_axpy(t, &product, &passthrough);
  EXPECT_GT(product, 0.0f);  // gradual underflow: ~1e-40
  EXPECT_LT(product, std::numeric_limits<float>::min());
  EXPECT_EQ(std::bit_cast<uint32_t>(passthrough), static_cast<uint32_t>(g_subnormal_bits));
  k::set_denormals(k::Denormals::Flush);
  run_axpy(t, &product, &passthrough);
  EXPECT_EQ(std::bit_cast<uint32_t>(product), 0u);      // FTZ: the result is flushed
  EXPECT_EQ(std::bit_cast<uint32_t>(passthrough), 0u);  // DAZ: the input reads as 0
}

TEST_F(DenormalsTest, ScalarKernelsObeyTheMode) {
#if !(defined(__x86_64__) || defined(__i386__))
  GTEST_SKIP() << "no MXCSR on this architecture";
#endif
  expect_mode_applies(k::scalar_table());
}

TEST_F(DenormalsTest, Avx512KernelsObeyTheMode) {
  const k::KernelTable* t = k::avx512_table();
  if (!t) GTEST_SKIP() << "no AVX-512 on this CPU";
  expect_mode_applies(*t);
}

}  // namespace
