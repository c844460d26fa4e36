// bfloat16 moment storage (kernels/bf16.h) and the adam_rows_bf16 kernels.
#include "sparsetrain/kernels/bf16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "sparsetrain/kernels/kernels.h"

namespace {

namespace k = sparsetrain::kernels;

uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

TEST(Bf16, WidenAndNearestRoundTrip) {
  // Every bfloat16 that is not NaN widens to a float that rounds back to itself.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = k::bf16_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(k::bf16_to_float(k::bf16_from_float(f)))) << h;
      continue;
    }
    EXPECT_EQ(bits_of(f), h << 16);
    EXPECT_EQ(k::bf16_from_float(f), h) << h;
  }
  // Nearest, ties to even: 1 + 2^-8 is halfway between 1 and 1 + 2^-7.
  EXPECT_EQ(k::bf16_to_float(k::bf16_from_float(1.0f + std::ldexp(1.0f, -8))), 1.0f);
  EXPECT_EQ(k::bf16_to_float(k::bf16_from_float(1.0f + 3 * std::ldexp(1.0f, -8))), 1.0f + std::ldexp(1.0f, -6));
  EXPECT_EQ(k::bf16_to_float(k::bf16_from_float(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20))),
            1.0f + std::ldexp(1.0f, -7));
}

TEST(Bf16, StochasticRoundingIsUnbiasedAndStaysBetweenNeighbours) {
  // x sits 30% of the way from one bfloat16 to the next (both signs): over all 2^16 random
  // values it rounds up exactly 30% of the time (to 1/65536), so the mean is x.
  for (float sign : {1.0f, -1.0f}) {
    const float lo = sign * 0.75f, step = sign * std::ldexp(1.0f, -8);  // bf16 spacing in [0.5, 1)
    const float x = lo + 0.3f * step;
    double sum = 0;
    for (uint32_t r = 0; r < 0x10000; ++r) {
      const float y = k::bf16_to_float(k::bf16_round_stochastic(x, r));
      ASSERT_TRUE(y == lo || y == lo + step) << y;
      sum += y;
    }
    EXPECT_NEAR(sum / 0x10000, x, std::abs(step) / 65536.0 * 2);
  }
  // Exact bfloat16 values never move; inf stays inf; NaN stays NaN.
  for (uint32_t r : {0u, 0x7FFFu, 0xFFFFu}) {
    EXPECT_EQ(k::bf16_to_float(k::bf16_round_stochastic(0.5f, r)), 0.5f);
    EXPECT_EQ(k::bf16_to_float(k::bf16_round_stochastic(-0.0f, r)), -0.0f);
    EXPECT_TRUE(std::isinf(k::bf16_to_float(k::bf16_round_stochastic(std::numeric_limits<float>::infinity(), r))));
    // A NaN whose payload is only in the low 16 bits must not turn into infinity.
    uint32_t nan_bits = 0x7F800001u;
    float nan;
    std::memcpy(&nan, &nan_bits, sizeof nan);
    EXPECT_TRUE(std::isnan(k::bf16_to_float(k::bf16_round_stochastic(nan, r))));
  }
}

TEST(Bf16, RoundingBitsAreUniformOverSteps) {
  // For a fixed row and column, the 16 rounding bits across steps (seeds) must be uniform:
  // a chi-square over 16 buckets of the top 4 bits, for m and v, a few positions.
  for (uint32_t row : {0u, 7u, 1048575u}) {
    for (uint32_t col : {0u, 13u, 63u}) {
      int m_hist[16] = {}, v_hist[16] = {};
      const int n = 16000;
      for (int t = 1; t <= n; ++t) {
        const k::Bf16RowKeys keys = k::bf16_row_keys(static_cast<uint32_t>(t) * 0x9E3779B1u, row);
        ++m_hist[k::bf16_round_bits(keys.m, col) >> 12];
        ++v_hist[k::bf16_round_bits(keys.v, col) >> 12];
      }
      for (int* h : {m_hist, v_hist}) {
        double chi2 = 0;
        for (int b = 0; b < 16; ++b) chi2 += std::pow(h[b] - n / 16.0, 2) / (n / 16.0);
        EXPECT_LT(chi2, 45.0) << "row " << row << " col " << col;  // 15 d.o.f.: p ~ 1e-4
      }
    }
  }
}

// adam_rows_bf16 must equal the same table's adam_row on the widened moments followed by
// the documented stochastic rounding, bit for bit; rows not listed stay untouched.
void check_adam_rows_bf16(const k::KernelTable& t) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0, 1);
  for (size_t n : {size_t{1}, size_t{17}, size_t{64}, size_t{100}}) {
    SCOPED_TRACE(testing::Message() << t.name << " n=" << n);
    const size_t stride = n + 3, table_rows = 40;
    std::vector<float> w(table_rows * stride);
    std::vector<uint16_t> m(table_rows * stride), v(table_rows * stride);
    for (auto& x : w) x = 2 * u(rng) - 1;
    for (auto& x : m) x = k::bf16_from_float(0.2f * u(rng) - 0.1f);
    for (auto& x : v) x = k::bf16_from_float(1e-2f * u(rng));
    const std::vector<uint32_t> rows = {0, 3, 4, 17, 39};
    std::vector<float> g(rows.size() * n), md(rows.size()), vd(rows.size());
    for (auto& x : g) x = 0.2f * u(rng) - 0.1f;
    for (auto& x : md) x = 0.5f + 0.5f * u(rng);
    for (auto& x : vd) x = 0.9f + 0.1f * u(rng);
    k::AdamRowParams p{};
    p.beta1 = 0.9f;
    p.beta2 = 0.999f;
    p.lr_t = 1e-3f;
    p.eps_hat = 1e-8f;
    p.decoupled_wd = 1e-4f;
    const uint32_t seed = 0xC0FFEEu;
    std::vector<float> w2 = w;
    std::vector<uint16_t> m2 = m, v2 = v;
    t.adam_rows_bf16(w.data(), m.data(), v.data(), stride, rows.data(), rows.size(), g.data(), n, md.data(), vd.data(),
                     p, seed);
    for (size_t r = 0; r < rows.size(); ++r) {
      const size_t off = rows[r] * stride;
      std::vector<float> mf(n), vf(n);
      for (size_t i = 0; i < n; ++i) {
        mf[i] = k::bf16_to_float(m2[off + i]);
        vf[i] = k::bf16_to_float(v2[off + i]);
      }
      k::AdamRowParams q = p;
      q.m_decay = md[r];
      q.v_decay = vd[r];
      t.adam_row(w2.data() + off, mf.data(), vf.data(), g.data() + r * n, n, q);
      const k::Bf16RowKeys keys = k::bf16_row_keys(seed, rows[r]);
      for (size_t i = 0; i < n; ++i) {
        m2[off + i] = k::bf16_round_stochastic(mf[i], k::bf16_round_bits(keys.m, static_cast<uint32_t>(i)));
        v2[off + i] = k::bf16_round_stochastic(vf[i], k::bf16_round_bits(keys.v, static_cast<uint32_t>(i)));
      }
    }
    EXPECT_EQ(w, w2);
    EXPECT_EQ(m, m2);
    EXPECT_EQ(v, v2);
  }
}

TEST(KernelsScalar, AdamRowsBf16IsAdamRowThenStochasticRounding) { check_adam_rows_bf16(k::scalar_table()); }
TEST(KernelsAvx512, AdamRowsBf16IsAdamRowThenStochasticRounding) {
  if (!k::avx512_table()) GTEST_SKIP() << "no AVX-512 on this CPU";
  check_adam_rows_bf16(*k::avx512_table());
}

}  // namespace
