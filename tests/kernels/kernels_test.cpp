// Kernel tests. Two layers:
//  * KernelsScalar.*  : the scalar reference against independent double-precision loops
//                       (always runs).
//  * KernelsAvx512.*  : the AVX-512 table against the scalar reference (skipped when
//                       the CPU lacks AVX-512).
// All buffers are deliberately misaligned (data starts one float into the storage)
// and surrounded by sentinel guards, so masked-tail bugs show up as guard damage.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "sparsetrain/kernels/kernels.h"
#include "sparsetrain/util/random.h"

namespace {

namespace k = sparsetrain::kernels;
using sparsetrain::util::Rng;

// Lengths around the 16-float vector and every tail of the 8-vector column passes (1 to 8
// vectors after the last full 128: 257, 31, 33, 64, 70, 90, 100, 120).
constexpr size_t kLengths[] = {0, 1, 7, 15, 16, 17, 31, 33, 64, 70, 90, 100, 120, 257, 1000};

// A float array whose data() is offset by one float from the allocation (so never
// 64-byte aligned) with sentinel guards on both sides.
class Buf {
 public:
  static constexpr size_t kGuard = 17;
  static constexpr float kSentinel = -12345.5f;

  explicit Buf(size_t n) : n_(n), storage_(1 + n + kGuard, kSentinel) {}
  Buf(size_t n, Rng& rng, double lo, double hi) : Buf(n) {
    for (size_t i = 0; i < n; ++i) data()[i] = static_cast<float>(lo + (hi - lo) * rng.uniform());
  }

  float* data() { return storage_.data() + 1; }
  const float* data() const { return storage_.data() + 1; }
  size_t size() const { return n_; }
  float& operator[](size_t i) { return data()[i]; }
  float operator[](size_t i) const { return data()[i]; }
  std::vector<float> values() const { return {data(), data() + n_}; }

  bool guards_intact() const {
    if (std::bit_cast<uint32_t>(storage_[0]) != std::bit_cast<uint32_t>(kSentinel)) return false;
    for (size_t i = 1 + n_; i < storage_.size(); ++i)
      if (std::bit_cast<uint32_t>(storage_[i]) != std::bit_cast<uint32_t>(kSentinel)) return false;
    return true;
  }

 private:
  size_t n_;
  std::vector<float> storage_;
};

// `count` distinct indices in [0, dim), in random order.
std::vector<uint32_t> unique_indices(size_t count, size_t dim, Rng& rng) {
  std::vector<uint32_t> all(dim);
  std::iota(all.begin(), all.end(), 0u);
  for (size_t i = 0; i < count; ++i) std::swap(all[i], all[i + rng.below(dim - i)]);
  all.resize(count);
  return all;
}

// The index array, misaligned like Buf (one element into the allocation).
struct IdxBuf {
  explicit IdxBuf(const std::vector<uint32_t>& v) : storage(v.size() + 1, 0xDEADBEEFu) {
    std::copy(v.begin(), v.end(), storage.begin() + 1);
  }
  const uint32_t* data() const { return storage.data() + 1; }
  std::vector<uint32_t> storage;
};

// Shifts a pointer by -offset floats with integer arithmetic, so that p[offset + i]
// lands on the real buffer: lets us test indices >= 2^31 without 8 GiB of memory
// (flat x86-64 address space; the kernels only ever touch the real buffer).
template <class T> T* shifted_down(T* p, uint64_t offset_floats) {
  return reinterpret_cast<T*>(reinterpret_cast<uintptr_t>(p) - offset_floats * sizeof(float));
}

const k::KernelTable* avx() { return k::avx512_table(); }

#define REQUIRE_AVX512()                                       \
  do {                                                         \
    if (!avx()) GTEST_SKIP() << "CPU lacks AVX-512F/DQ/BW/VL"; \
  } while (0)

bool bits_equal(float a, float b) { return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b); }

// ----------------------------------------------------------------------------
// dot
// ----------------------------------------------------------------------------
TEST(KernelsScalar, DotMatchesDouble) {
  Rng rng(1);
  for (size_t n : kLengths) {
    SCOPED_TRACE(n);
    Buf a(n, rng, -1, 1), b(n, rng, -1, 1);
    double ref = 0, mag = 0;
    for (size_t i = 0; i < n; ++i) {
      ref += double(a[i]) * b[i];
      mag += std::abs(double(a[i]) * b[i]);
    }
    EXPECT_NEAR(k::scalar_table().dot(a.data(), b.data(), n), ref, 1e-5 * mag + 1e-30);
  }
}

TEST(KernelsAvx512, DotMatchesScalar) {
  REQUIRE_AVX512();
  Rng rng(2);
  for (size_t n : kLengths) {
    SCOPED_TRACE(n);
    Buf a(n, rng, -1, 1), b(n, rng, -1, 1);
    double mag = 0;
    for (size_t i = 0; i < n; ++i) mag += std::abs(double(a[i]) * b[i]);
    const float s = k::scalar_table().dot(a.data(), b.data(), n);
    EXPECT_NEAR(avx()->dot(a.data(), b.data(), n), s, 1e-5 * mag + 1e-30);
  }
}

// ----------------------------------------------------------------------------
// axpy / add / scale
// ----------------------------------------------------------------------------
TEST(KernelsScalar, AxpyAddScaleMatchDouble) {
  Rng rng(3);
  const float alpha = -0.37f;
  for (size_t n : kLengths) {
    SCOPED_TRACE(n);
    Buf x(n, rng, -2, 2), y0(n, rng, -2, 2);
    Buf y = y0;
    k::scalar_table().axpy(alpha, x.data(), y.data(), n);
    for (size_t i = 0; i < n; ++i) {
      const double ref = double(y0[i]) + double(alpha) * x[i];
      EXPECT_NEAR(y[i], ref, 1e-6 * (std::abs(double(y0[i])) + std::abs(double(alpha) * x[i])) + 1e-30) << i;
    }
    EXPECT_TRUE(y.guards_intact());

    y = y0;
    k::scalar_table().add(x.data(), y.data(), n);
    for (size_t i = 0; i < n; ++i)
      EXPECT_NEAR(y[i], double(y0[i]) + x[i], 1e-6 * (std::abs(double(y0[i])) + std::abs(double(x[i]))) + 1e-30);
    EXPECT_TRUE(y.guards_intact());

    y = y0;
    k::scalar_table().scale(alpha, y.data(), n);
    for (size_t i = 0; i < n; ++i) EXPECT_NEAR(y[i], double(alpha) * y0[i], 1e-6 * std::abs(double(alpha) * y0[i]));
    EXPECT_TRUE(y.guards_intact());
  }
}

TEST(KernelsAvx512, AxpyMatchesScalar) {
  REQUIRE_AVX512();
  Rng rng(4);
  const float alpha = 1.73f;
  for (size_t n : kLengths) {
    SCOPED_TRACE(n);
    Buf x(n, rng, -2, 2), y0(n, rng, -2, 2);
    Buf ys = y0, ya = y0;
    k::scalar_table().axpy(alpha, x.data(), ys.data(), n);
    avx()->axpy(alpha, x.data(), ya.data(), n);
    for (size_t i = 0; i < n; ++i)  // FMA rounds once fewer: ~1 ulp apart
      EXPECT_NEAR(ya[i], ys[i], 1e-6 * (std::abs(y0[i]) + std::abs(alpha * x[i])) + 1e-30) << i;
    EXPECT_TRUE(ya.guards_intact());
  }
}

TEST(KernelsAvx512, AddAndScaleMatchScalarExactly) {
  REQUIRE_AVX512();
  Rng rng(5);
  for (size_t n : kLengths) {
    SCOPED_TRACE(n);
    Buf x(n, rng, -2, 2), y0(n, rng, -2, 2);
    Buf ys = y0, ya = y0;
    k::scalar_table().add(x.data(), ys.data(), n);
    avx()->add(x.data(), ya.data(), n);
    EXPECT_EQ(ya.values(), ys.values());
    EXPECT_TRUE(ya.guards_intact());

    ys = y0;
    ya = y0;
    k::scalar_table().scale(-0.61f, ys.data(), n);
    avx()->scale(-0.61f, ya.data(), n);
    EXPECT_EQ(ya.values(), ys.values());
    EXPECT_TRUE(ya.guards_intact());
  }
}

// ----------------------------------------------------------------------------
// gather_rows_sum
// ----------------------------------------------------------------------------
struct GatherCase {
  size_t n, stride, nrows;
};

std::vector<GatherCase> gather_cases() {
  std::vector<GatherCase> cases;
  for (size_t n : kLengths)
    for (size_t nrows : {size_t{0}, size_t{1}, size_t{5}, size_t{37}})
      cases.push_back({n, n + 3, nrows});  // odd stride: rows are misaligned too
  cases.push_back({128, 128, 9});          // exactly one 8-block pass, aligned stride
  cases.push_back({256, 300, 9});
  return cases;
}

// Runs gather_rows_sum of `t` on a random case; returns out.
std::vector<float> run_gather(const k::KernelTable& t, const GatherCase& c, uint64_t seed,
                              std::vector<double>* ref = nullptr, std::vector<double>* mag = nullptr) {
  Rng rng(seed);
  constexpr size_t kTableRows = 50;
  Buf table(kTableRows * c.stride, rng, -1, 1);
  std::vector<uint32_t> rows(c.nrows);
  for (auto& r : rows) r = static_cast<uint32_t>(rng.below(kTableRows));  // repeats allowed
  IdxBuf ridx(rows);
  Buf out(c.n, rng, -1, 1);
  if (ref) {
    ref->assign(c.n, 0.0);
    mag->assign(c.n, 0.0);
    for (size_t j = 0; j < c.n; ++j) {
      (*ref)[j] = out[j];
      (*mag)[j] = std::abs(out[j]);
      for (uint32_t r : rows) {
        (*ref)[j] += table[r * c.stride + j];
        (*mag)[j] += std::abs(table[r * c.stride + j]);
      }
    }
  }
  t.gather_rows_sum(table.data(), c.stride, ridx.data(), c.nrows, out.data(), c.n);
  EXPECT_TRUE(out.guards_intact());
  return out.values();
}

TEST(KernelsScalar, GatherRowsSumMatchesDouble) {
  uint64_t seed = 100;
  for (const auto& c : gather_cases()) {
    SCOPED_TRACE(testing::Message() << "n=" << c.n << " stride=" << c.stride << " nrows=" << c.nrows);
    std::vector<double> ref, mag;
    const auto out = run_gather(k::scalar_table(), c, seed++, &ref, &mag);
    for (size_t j = 0; j < c.n; ++j) EXPECT_NEAR(out[j], ref[j], 1e-5 * mag[j] + 1e-30) << j;
  }
}

TEST(KernelsAvx512, GatherRowsSumMatchesScalarExactly) {
  REQUIRE_AVX512();
  uint64_t seed = 200;
  for (const auto& c : gather_cases()) {
    SCOPED_TRACE(testing::Message() << "n=" << c.n << " stride=" << c.stride << " nrows=" << c.nrows);
    // Same row order as the scalar loop, so bit-identical.
    EXPECT_EQ(run_gather(*avx(), c, seed), run_gather(k::scalar_table(), c, seed));
    ++seed;
  }
}

// Row ids near 2^32 with a stride > 1: row*stride overflows 32 bits unless the
// kernel uses size_t math. The table pointer is shifted so those rows are real memory.
void check_gather_high_rows(const k::KernelTable& t) {
  Rng rng(7);
  const size_t n = 37, stride = 41, nreal = 6;
  const uint64_t first = 0xFFFFFFFFull - nreal + 1;  // real rows are ids first..2^32-1
  Buf real(nreal * stride, rng, -1, 1);
  const float* table = shifted_down(real.data(), first * stride);
  const std::vector<uint32_t> rows = {0xFFFFFFFFu, static_cast<uint32_t>(first), static_cast<uint32_t>(first + 2)};
  IdxBuf ridx(rows);
  Buf out(n);
  std::fill(out.data(), out.data() + n, 0.0f);
  t.gather_rows_sum(table, stride, ridx.data(), rows.size(), out.data(), n);
  for (size_t j = 0; j < n; ++j) {
    float ref = 0.0f;
    for (uint32_t r : rows) ref += real[(r - first) * stride + j];
    EXPECT_EQ(out[j], ref) << j;
  }
  EXPECT_TRUE(out.guards_intact());
}

TEST(KernelsScalar, GatherRowsSumHighRowIds) { check_gather_high_rows(k::scalar_table()); }
TEST(KernelsAvx512, GatherRowsSumHighRowIds) {
  REQUIRE_AVX512();
  check_gather_high_rows(*avx());
}

// ----------------------------------------------------------------------------
// weighted_rows_sum / dot_rows: batched forms of axpy and dot, bit-identical to them
// ----------------------------------------------------------------------------
// Runs weighted_rows_sum (batched) or axpy row by row (batched = false) of `t` on a
// random case with repeated rows and some zero coefficients; returns out.
std::vector<float> run_weighted(const k::KernelTable& t, const GatherCase& c, uint64_t seed, bool batched) {
  Rng rng(seed);
  constexpr size_t kTableRows = 50;
  Buf table(kTableRows * c.stride, rng, -1, 1);
  std::vector<uint32_t> rows(c.nrows);
  std::vector<float> coeffs(c.nrows);
  for (size_t k = 0; k < c.nrows; ++k) {
    rows[k] = static_cast<uint32_t>(rng.below(kTableRows));
    coeffs[k] = rng.below(4) == 0 ? (rng.below(2) ? 0.0f : -0.0f) : static_cast<float>(2 * rng.uniform() - 1);
  }
  IdxBuf ridx(rows);
  Buf cbuf(c.nrows);
  std::copy(coeffs.begin(), coeffs.end(), cbuf.data());
  Buf out(c.n, rng, -1, 1);
  if (batched) {
    t.weighted_rows_sum(table.data(), c.stride, ridx.data(), cbuf.data(), c.nrows, out.data(), c.n);
  } else {
    for (size_t k = 0; k < c.nrows; ++k)
      if (coeffs[k] != 0.0f) t.axpy(coeffs[k], table.data() + rows[k] * c.stride, out.data(), c.n);
  }
  EXPECT_TRUE(out.guards_intact());
  EXPECT_TRUE(cbuf.guards_intact());
  return out.values();
}

void check_weighted_equals_axpy(const k::KernelTable& t) {
  uint64_t seed = 300;
  for (const auto& c : gather_cases()) {
    SCOPED_TRACE(testing::Message() << t.name << " n=" << c.n << " stride=" << c.stride << " nrows=" << c.nrows);
    const auto batched = run_weighted(t, c, seed, true);
    const auto one_by_one = run_weighted(t, c, seed, false);
    ASSERT_EQ(batched.size(), one_by_one.size());
    for (size_t j = 0; j < batched.size(); ++j) EXPECT_TRUE(bits_equal(batched[j], one_by_one[j])) << j;
    ++seed;
  }
}

TEST(KernelsScalar, WeightedRowsSumEqualsAxpyPerRow) { check_weighted_equals_axpy(k::scalar_table()); }
TEST(KernelsAvx512, WeightedRowsSumEqualsAxpyPerRow) {
  REQUIRE_AVX512();
  check_weighted_equals_axpy(*avx());
}

TEST(KernelsAvx512, WeightedRowsSumMatchesScalar) {
  REQUIRE_AVX512();
  uint64_t seed = 400;
  for (const auto& c : gather_cases()) {
    SCOPED_TRACE(testing::Message() << "n=" << c.n << " stride=" << c.stride << " nrows=" << c.nrows);
    const auto a = run_weighted(*avx(), c, seed, true);
    const auto s = run_weighted(k::scalar_table(), c, seed, true);
    for (size_t j = 0; j < a.size(); ++j) EXPECT_NEAR(a[j], s[j], 1e-5 * (1 + c.nrows)) << j;  // FMA vs mul+add
    ++seed;
  }
}

void check_dot_rows_equals_dot(const k::KernelTable& t) {
  Rng rng(500);
  for (size_t n : kLengths)
    for (size_t nrows : {size_t{0}, size_t{1}, size_t{3}, size_t{51}}) {
      SCOPED_TRACE(testing::Message() << t.name << " n=" << n << " nrows=" << nrows);
      const size_t stride = n + 5, table_rows = 60;
      Buf table(table_rows * stride, rng, -1, 1);
      Buf x(n, rng, -1, 1);
      std::vector<uint32_t> rows(nrows);
      for (auto& r : rows) r = static_cast<uint32_t>(rng.below(table_rows));
      IdxBuf ridx(rows);
      Buf out(nrows);
      t.dot_rows(table.data(), stride, ridx.data(), nrows, x.data(), n, out.data());
      EXPECT_TRUE(out.guards_intact());
      for (size_t k = 0; k < nrows; ++k)
        EXPECT_TRUE(bits_equal(out[k], t.dot(table.data() + rows[k] * stride, x.data(), n))) << k;
    }
}

TEST(KernelsScalar, DotRowsEqualsDotPerRow) { check_dot_rows_equals_dot(k::scalar_table()); }
TEST(KernelsAvx512, DotRowsEqualsDotPerRow) {
  REQUIRE_AVX512();
  check_dot_rows_equals_dot(*avx());
}

// ----------------------------------------------------------------------------
// sparse_dot / sparse_axpy
// ----------------------------------------------------------------------------
TEST(KernelsScalar, SparseDotAndAxpyMatchDouble) {
  Rng rng(8);
  const float alpha = 0.83f;
  for (size_t nnz : kLengths) {
    SCOPED_TRACE(nnz);
    const size_t dim = 3 * nnz + 5;
    const auto idx_v = unique_indices(nnz, dim, rng);
    IdxBuf idx(idx_v);
    Buf w(dim, rng, -1, 1), vals(nnz, rng, -1, 1);
    double ref = 0, mag = 0;
    for (size_t q = 0; q < nnz; ++q) {
      ref += double(w[idx_v[q]]) * vals[q];
      mag += std::abs(double(w[idx_v[q]]) * vals[q]);
    }
    EXPECT_NEAR(k::scalar_table().sparse_dot(w.data(), idx.data(), vals.data(), nnz), ref, 1e-5 * mag + 1e-30);

    Buf y = w;
    k::scalar_table().sparse_axpy(alpha, idx.data(), vals.data(), nnz, y.data());
    const std::vector<float> w0 = w.values();
    std::vector<double> yref(w0.begin(), w0.end());
    for (size_t q = 0; q < nnz; ++q) yref[idx_v[q]] += double(alpha) * vals[q];
    for (size_t i = 0; i < dim; ++i)
      EXPECT_NEAR(y[i], yref[i], 1e-6 * (std::abs(double(w[i])) + std::abs(alpha)) + 1e-30) << i;
    EXPECT_TRUE(y.guards_intact());
  }
}

TEST(KernelsAvx512, SparseDotAndAxpyMatchScalar) {
  REQUIRE_AVX512();
  Rng rng(9);
  const float alpha = -1.21f;
  for (size_t nnz : kLengths) {
    SCOPED_TRACE(nnz);
    const size_t dim = 3 * nnz + 5;
    const auto idx_v = unique_indices(nnz, dim, rng);
    IdxBuf idx(idx_v);
    Buf w(dim, rng, -1, 1), vals(nnz, rng, -1, 1);
    double mag = 0;
    for (size_t q = 0; q < nnz; ++q) mag += std::abs(double(w[idx_v[q]]) * vals[q]);
    EXPECT_NEAR(avx()->sparse_dot(w.data(), idx.data(), vals.data(), nnz),
                k::scalar_table().sparse_dot(w.data(), idx.data(), vals.data(), nnz), 1e-5 * mag + 1e-30);

    Buf ys = w, ya = w;
    k::scalar_table().sparse_axpy(alpha, idx.data(), vals.data(), nnz, ys.data());
    avx()->sparse_axpy(alpha, idx.data(), vals.data(), nnz, ya.data());
    for (size_t i = 0; i < dim; ++i) EXPECT_NEAR(ya[i], ys[i], 1e-6 * (std::abs(w[i]) + std::abs(alpha)) + 1e-30) << i;
    EXPECT_TRUE(ya.guards_intact());
  }
}

// Indices >= 2^31 (negative as int32): the AVX-512 gather/scatter must still
// address w + idx. w is shifted so that those indices hit a small real buffer.
void check_sparse_high_indices(const k::KernelTable& t) {
  Rng rng(10);
  const size_t nreal = 64;
  const uint64_t first = 0xFFFFFFFFull - nreal + 1;
  Buf real(nreal, rng, -1, 1);
  std::vector<uint32_t> idx_v = {0xFFFFFFFFu};  // the largest index, plus a mix
  for (auto r : unique_indices(20, nreal - 1, rng)) idx_v.push_back(static_cast<uint32_t>(first + r));
  IdxBuf idx(idx_v);
  Buf vals(idx_v.size(), rng, -1, 1);
  const float* w = shifted_down(real.data(), first);

  double ref = 0, mag = 0;
  for (size_t q = 0; q < idx_v.size(); ++q) {
    ref += double(real[idx_v[q] - first]) * vals[q];
    mag += std::abs(double(real[idx_v[q] - first]) * vals[q]);
  }
  EXPECT_NEAR(t.sparse_dot(w, idx.data(), vals.data(), idx_v.size()), ref, 1e-5 * mag);

  Buf y = real;
  t.sparse_axpy(2.0f, idx.data(), vals.data(), idx_v.size(), shifted_down(y.data(), first));
  std::vector<float> yref = real.values();
  for (size_t q = 0; q < idx_v.size(); ++q) yref[idx_v[q] - first] += 2.0f * vals[q];
  for (size_t i = 0; i < nreal; ++i) EXPECT_NEAR(y[i], yref[i], 1e-6 * (std::abs(real[i]) + 2.0)) << i;
  EXPECT_TRUE(y.guards_intact());
}

TEST(KernelsScalar, SparseHighIndices) { check_sparse_high_indices(k::scalar_table()); }
TEST(KernelsAvx512, SparseHighIndices) {
  REQUIRE_AVX512();
  check_sparse_high_indices(*avx());
}

// ----------------------------------------------------------------------------
// relu
// ----------------------------------------------------------------------------
// Random values with special cases sprinkled in (NaN, +-0, +-inf, denormals).
Buf relu_input(size_t n, Rng& rng) {
  Buf x(n, rng, -1, 1);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                            -0.0f,
                            0.0f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::denorm_min(),
                            -std::numeric_limits<float>::denorm_min()};
  for (size_t i = 0; i < n; i += 5) x[i] = specials[(i / 5) % std::size(specials)];
  return x;
}

TEST(KernelsScalar, ReluMatchesDefinition) {
  Rng rng(11);
  for (size_t n : kLengths) {
    SCOPED_TRACE(n);
    const Buf x0 = relu_input(n, rng);
    Buf x = x0;
    k::scalar_table().relu_inplace(x.data(), n);
    for (size_t i = 0; i < n; ++i) EXPECT_TRUE(bits_equal(x[i], x0[i] > 0.0f ? x0[i] : 0.0f)) << i;
    EXPECT_TRUE(x.guards_intact());

    Buf d0(n, rng, -1, 1);
    Buf d = d0;
    k::scalar_table().relu_backward(x0.data(), d.data(), n);
    for (size_t i = 0; i < n; ++i) EXPECT_TRUE(bits_equal(d[i], x0[i] > 0.0f ? d0[i] : 0.0f)) << i;
    EXPECT_TRUE(d.guards_intact());
  }
}

TEST(KernelsAvx512, ReluMatchesScalarExactly) {
  REQUIRE_AVX512();
  Rng rng(12);
  for (size_t n : kLengths) {
    SCOPED_TRACE(n);
    const Buf x0 = relu_input(n, rng);
    Buf xs = x0, xa = x0;
    k::scalar_table().relu_inplace(xs.data(), n);
    avx()->relu_inplace(xa.data(), n);
    for (size_t i = 0; i < n; ++i) EXPECT_TRUE(bits_equal(xa[i], xs[i])) << i << ": " << xa[i] << " vs " << xs[i];
    EXPECT_TRUE(xa.guards_intact());

    Buf d0(n, rng, -1, 1);
    Buf ds = d0, da = d0;
    k::scalar_table().relu_backward(x0.data(), ds.data(), n);
    avx()->relu_backward(x0.data(), da.data(), n);
    for (size_t i = 0; i < n; ++i) EXPECT_TRUE(bits_equal(da[i], ds[i])) << i;
    EXPECT_TRUE(da.guards_intact());
  }
}

// ----------------------------------------------------------------------------
// adam_row / sgd_row
// ----------------------------------------------------------------------------
k::AdamRowParams adam_params(bool decays_and_wd) {
  const float b1 = 0.9f, b2 = 0.999f;
  const int t = 7;
  const double lr = 1e-2, eps = 1e-8;
  k::AdamRowParams p{};
  p.beta1 = b1;
  p.beta2 = b2;
  p.m_decay = decays_and_wd ? std::pow(b1, 3.0f) : 1.0f;
  p.v_decay = decays_and_wd ? std::pow(b2, 3.0f) : 1.0f;
  p.lr_t = static_cast<float>(lr * std::sqrt(1 - std::pow(double(b2), t)) / (1 - std::pow(double(b1), t)));
  p.eps_hat = static_cast<float>(eps * std::sqrt(1 - std::pow(double(b2), t)));
  p.decoupled_wd = decays_and_wd ? static_cast<float>(lr * 0.01) : 0.0f;
  return p;
}

struct AdamState {
  Buf w, m, v, g;
  AdamState(size_t n, Rng& rng) : w(n, rng, -1, 1), m(n, rng, -0.1, 0.1), v(n, rng, 0, 1e-2), g(n) {
    for (size_t i = 0; i < n; ++i) g[i] = static_cast<float>(0.1 * rng.normal());
    if (n > 3) g[3] = 0.0f;  // a zero gradient with nonzero moments
  }
};

// Double-precision Adam from the float inputs, with per-element error scales for
// m, v and w (the magnitudes the float rounding errors are relative to).
struct AdamRef {
  std::vector<double> w, m, v, w_scale, m_scale;
};
AdamRef adam_reference(const AdamState& s, const k::AdamRowParams& p) {
  const size_t n = s.w.size();
  AdamRef r;
  for (size_t i = 0; i < n; ++i) {
    const double g = s.g[i];
    const double t1 = double(p.beta1) * (double(s.m[i]) * p.m_decay);
    const double t2 = (1.0 - double(p.beta1)) * g;
    const double m = t1 + t2;
    const double v = double(p.beta2) * (double(s.v[i]) * p.v_decay) + (1.0 - double(p.beta2)) * g * g;
    const double denom = std::sqrt(v) + p.eps_hat;
    double w = s.w[i];
    w -= double(p.decoupled_wd) * w;
    w -= double(p.lr_t) * m / denom;
    r.m.push_back(m);
    r.v.push_back(v);
    r.w.push_back(w);
    r.m_scale.push_back(std::abs(t1) + std::abs(t2));
    // m's absolute error (cancellation!) and the step's own rounding both reach w.
    r.w_scale.push_back(std::abs(double(s.w[i])) + double(p.lr_t) * (std::abs(t1) + std::abs(t2)) / denom);
  }
  return r;
}

TEST(KernelsScalar, AdamRowMatchesDouble) {
  Rng rng(13);
  for (bool extras : {false, true}) {
    const auto p = adam_params(extras);
    for (size_t n : kLengths) {
      SCOPED_TRACE(testing::Message() << "n=" << n << " decays/wd=" << extras);
      AdamState s(n, rng);
      const AdamRef ref = adam_reference(s, p);
      k::scalar_table().adam_row(s.w.data(), s.m.data(), s.v.data(), s.g.data(), n, p);
      for (size_t i = 0; i < n; ++i) {
        EXPECT_NEAR(s.m[i], ref.m[i], 1e-6 * ref.m_scale[i] + 1e-30) << i;
        EXPECT_NEAR(s.v[i], ref.v[i], 1e-6 * ref.v[i] + 1e-30) << i;
        EXPECT_NEAR(s.w[i], ref.w[i], 1e-6 * ref.w_scale[i] + 1e-30) << i;
      }
      EXPECT_TRUE(s.w.guards_intact() && s.m.guards_intact() && s.v.guards_intact());
    }
  }
}

TEST(KernelsAvx512, AdamRowMatchesScalar) {
  REQUIRE_AVX512();
  Rng rng(14);
  for (bool extras : {false, true}) {
    const auto p = adam_params(extras);
    for (size_t n : kLengths) {
      SCOPED_TRACE(testing::Message() << "n=" << n << " decays/wd=" << extras);
      AdamState sa(n, rng);
      AdamState ss = sa;
      const AdamRef ref = adam_reference(sa, p);  // only for the error scales
      k::scalar_table().adam_row(ss.w.data(), ss.m.data(), ss.v.data(), ss.g.data(), n, p);
      avx()->adam_row(sa.w.data(), sa.m.data(), sa.v.data(), sa.g.data(), n, p);
      for (size_t i = 0; i < n; ++i) {
        EXPECT_NEAR(sa.m[i], ss.m[i], 1e-6 * ref.m_scale[i] + 1e-30) << i;
        EXPECT_NEAR(sa.v[i], ss.v[i], 1e-6 * ref.v[i] + 1e-30) << i;
        EXPECT_NEAR(sa.w[i], ss.w[i], 1e-6 * ref.w_scale[i] + 1e-30) << i;
      }
      EXPECT_TRUE(sa.w.guards_intact() && sa.m.guards_intact() && sa.v.guards_intact());
    }
  }
}

// Lazy Adam: a row skipped for k steps and then updated with m_decay = beta1^k,
// v_decay = beta2^k must end with the same moments as k explicit zero-gradient
// steps followed by the real one.
// adam_rows on scattered rows of a table equals adam_row called row by row (bit for bit),
// each row with its own decays; rows not listed are untouched.
void check_adam_rows_equals_adam_row(const k::KernelTable& t) {
  Rng rng(31);
  for (size_t n : {size_t{1}, size_t{17}, size_t{64}, size_t{100}}) {
    SCOPED_TRACE(testing::Message() << t.name << " n=" << n);
    const size_t stride = n + 3, table_rows = 40;
    Buf w(table_rows * stride, rng, -1, 1), m(table_rows * stride, rng, -0.1, 0.1),
        v(table_rows * stride, rng, 0, 1e-2);
    const std::vector<uint32_t> rows = {0, 3, 4, 17, 39};
    Buf g(rows.size() * n, rng, -0.1, 0.1), md(rows.size(), rng, 0.5, 1), vd(rows.size(), rng, 0.9, 1);
    std::vector<float> w2 = w.values(), m2 = m.values(), v2 = v.values();
    const k::AdamRowParams p = adam_params(true);
    IdxBuf ridx(rows);
    t.adam_rows(w.data(), m.data(), v.data(), stride, ridx.data(), rows.size(), g.data(), n, md.data(), vd.data(), p);
    for (size_t k = 0; k < rows.size(); ++k) {
      k::AdamRowParams q = p;
      q.m_decay = md[k];
      q.v_decay = vd[k];
      const size_t off = rows[k] * stride;
      t.adam_row(w2.data() + off, m2.data() + off, v2.data() + off, g.data() + k * n, n, q);
    }
    EXPECT_EQ(w.values(), w2);
    EXPECT_EQ(m.values(), m2);
    EXPECT_EQ(v.values(), v2);
    EXPECT_TRUE(w.guards_intact() && m.guards_intact() && v.guards_intact());
  }
}

TEST(KernelsScalar, AdamRowsEqualsAdamRowPerRow) { check_adam_rows_equals_adam_row(k::scalar_table()); }
TEST(KernelsAvx512, AdamRowsEqualsAdamRowPerRow) {
  REQUIRE_AVX512();
  check_adam_rows_equals_adam_row(*avx());
}

TEST(KernelsAdam, SkippedStepDecayEqualsZeroGradientSteps) {
  std::vector<const k::KernelTable*> tables = {&k::scalar_table()};
  if (avx()) tables.push_back(avx());
  for (const auto* t : tables) {
    for (int skipped : {1, 3, 10}) {
      SCOPED_TRACE(testing::Message() << t->name << " skipped=" << skipped);
      Rng rng(15 + skipped);
      const size_t n = 100;
      AdamState explicit_steps(n, rng);
      AdamState lazy = explicit_steps;

      k::AdamRowParams p = adam_params(false);
      Buf zero(n);
      std::fill(zero.data(), zero.data() + n, 0.0f);
      for (int s = 0; s < skipped; ++s)
        t->adam_row(explicit_steps.w.data(), explicit_steps.m.data(), explicit_steps.v.data(), zero.data(), n, p);
      t->adam_row(explicit_steps.w.data(), explicit_steps.m.data(), explicit_steps.v.data(), explicit_steps.g.data(), n,
                  p);

      p.m_decay = std::pow(p.beta1, static_cast<float>(skipped));
      p.v_decay = std::pow(p.beta2, static_cast<float>(skipped));
      t->adam_row(lazy.w.data(), lazy.m.data(), lazy.v.data(), lazy.g.data(), n, p);

      // Each explicit step rounds once more: allow ~(skipped + 2) ulps.
      const double rel = 1.2e-7 * (skipped + 4);
      for (size_t i = 0; i < n; ++i) {
        const double mscale = std::abs(p.beta1 * p.m_decay * lazy.m[i]) + std::abs((1 - p.beta1) * lazy.g[i]) +
                              std::abs(explicit_steps.m[i]);
        EXPECT_NEAR(lazy.m[i], explicit_steps.m[i], rel * mscale + 1e-30) << i;
        EXPECT_NEAR(lazy.v[i], explicit_steps.v[i], rel * std::abs(explicit_steps.v[i]) + 1e-30) << i;
      }
    }
  }
}

void sgd_reference_check(const k::KernelTable& t, const std::vector<float>* other_result, Rng& rng, size_t n,
                         std::vector<float>* result) {
  const float lr = 0.05f, wd = 1e-3f;
  Buf w0(n, rng, -1, 1), g(n, rng, -1, 1);
  Buf w = w0;
  t.sgd_row(w.data(), g.data(), n, lr, wd);
  for (size_t i = 0; i < n; ++i) {
    const double ref = (double(w0[i]) - double(wd) * w0[i]) - double(lr) * g[i];
    const double tol = 1e-6 * (std::abs(double(w0[i])) + std::abs(double(lr) * g[i])) + 1e-30;
    EXPECT_NEAR(w[i], ref, tol) << i;
    if (other_result) {
      EXPECT_NEAR(w[i], (*other_result)[i], tol) << i;
    }
  }
  EXPECT_TRUE(w.guards_intact());
  if (result) *result = w.values();
}

TEST(KernelsScalar, SgdRowMatchesDouble) {
  Rng rng(16);
  for (size_t n : kLengths) {
    SCOPED_TRACE(n);
    sgd_reference_check(k::scalar_table(), nullptr, rng, n, nullptr);
  }
}

TEST(KernelsAvx512, SgdRowMatchesScalar) {
  REQUIRE_AVX512();
  for (size_t n : kLengths) {
    SCOPED_TRACE(n);
    std::vector<float> scalar_w;
    Rng rs(17 + n), ra(17 + n);  // same inputs for both
    sgd_reference_check(k::scalar_table(), nullptr, rs, n, &scalar_w);
    sgd_reference_check(*avx(), &scalar_w, ra, n, nullptr);
  }
}

// ----------------------------------------------------------------------------
// Tables, dispatch and parsing
// ----------------------------------------------------------------------------
void expect_complete(const k::KernelTable& t) {
  EXPECT_NE(t.name, nullptr);
  EXPECT_NE(t.dot, nullptr);
  EXPECT_NE(t.axpy, nullptr);
  EXPECT_NE(t.add, nullptr);
  EXPECT_NE(t.scale, nullptr);
  EXPECT_NE(t.gather_rows_sum, nullptr);
  EXPECT_NE(t.weighted_rows_sum, nullptr);
  EXPECT_NE(t.dot_rows, nullptr);
  EXPECT_NE(t.sparse_dot, nullptr);
  EXPECT_NE(t.sparse_axpy, nullptr);
  EXPECT_NE(t.relu_inplace, nullptr);
  EXPECT_NE(t.relu_backward, nullptr);
  EXPECT_NE(t.adam_row, nullptr);
  EXPECT_NE(t.sgd_row, nullptr);
  EXPECT_NE(t.adam_rows, nullptr);
}

TEST(KernelsDispatch, TablesAreCompleteAndNamed) {
  expect_complete(k::scalar_table());
  EXPECT_STREQ(k::scalar_table().name, "scalar");
  if (avx()) {
    expect_complete(*avx());
    EXPECT_STREQ(avx()->name, "avx512");
    EXPECT_TRUE(k::cpu_supports_avx512());
  }
#if defined(__x86_64__) && ST_HAVE_AVX512_KERNELS
  // Built on x86-64 with the AVX-512 file compiled: available exactly when the CPU has it.
  EXPECT_EQ(avx() != nullptr, k::cpu_supports_avx512());
#else
  // A compiler without the AVX-512 flags: no table, whatever the CPU (scalar at run time).
  EXPECT_EQ(avx(), nullptr);
#endif
}

TEST(KernelsDispatch, SelectSwitchesActiveTable) {
  k::select(k::KernelChoice::Scalar);
  EXPECT_EQ(&k::active(), &k::scalar_table());

  if (k::avx512_table()) {
    k::select(k::KernelChoice::Avx512);
    EXPECT_EQ(&k::active(), k::avx512_table());
  } else {
    EXPECT_THROW(k::select(k::KernelChoice::Avx512), std::runtime_error);
    EXPECT_EQ(&k::active(), &k::scalar_table());  // a failed select leaves the choice alone
  }

  k::select(k::KernelChoice::Auto);
  EXPECT_EQ(&k::active(), k::avx512_table() ? k::avx512_table() : &k::scalar_table());
}

TEST(KernelsDispatch, SelectAvx512WithoutSupportExplains) {
  if (k::avx512_table()) GTEST_SKIP() << "CPU has AVX-512; the error path cannot be reached";
  try {
    k::select(k::KernelChoice::Avx512);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("AVX-512"), std::string::npos) << e.what();
  }
  k::select(k::KernelChoice::Auto);
}

// ----------------------------------------------------------------------------
// select_equal
// ----------------------------------------------------------------------------

// Keys in [0, 4] (like co-occurrence counts), every n and limit around the 16-lane blocks:
// the output is the stable filter of vals by key, cut at limit, and nothing past it is written.
void check_select_equal(const k::KernelTable& t) {
  Rng rng(77);
  for (size_t n : {0, 1, 5, 15, 16, 17, 31, 32, 33, 100, 129}) {
    std::vector<uint32_t> keys(n), vals(n);
    for (size_t i = 0; i < n; ++i) {
      keys[i] = static_cast<uint32_t>(rng.below(5));
      vals[i] = static_cast<uint32_t>(rng.below(1u << 31)) | (i == 0 ? 0x80000000u : 0u);  // high ids too
    }
    for (uint32_t key = 0; key <= 5; ++key) {
      std::vector<uint32_t> want;
      for (size_t i = 0; i < n; ++i)
        if (keys[i] == key) want.push_back(vals[i]);
      for (size_t limit : {size_t{0}, size_t{1}, size_t{3}, size_t{16}, size_t{17}, want.size(), n + 5}) {
        SCOPED_TRACE(testing::Message() << t.name << " n=" << n << " key=" << key << " limit=" << limit);
        constexpr uint32_t kSentinel = 0xDEADBEEF;
        std::vector<uint32_t> out(limit + 20, kSentinel);
        const size_t got = t.select_equal(keys.data(), vals.data(), n, key, limit, out.data());
        const size_t expect = std::min(limit, want.size());
        ASSERT_EQ(got, expect);
        for (size_t i = 0; i < expect; ++i) EXPECT_EQ(out[i], want[i]) << i;
        for (size_t i = expect; i < out.size(); ++i) EXPECT_EQ(out[i], kSentinel) << "written past the result at " << i;
      }
    }
  }
}

TEST(KernelsScalar, SelectEqualIsAStableFilterCutAtLimit) { check_select_equal(k::scalar_table()); }
TEST(KernelsAvx512, SelectEqualIsAStableFilterCutAtLimit) {
  REQUIRE_AVX512();
  check_select_equal(*avx());
}

}  // namespace
