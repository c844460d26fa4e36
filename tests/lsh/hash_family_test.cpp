// Unit tests of the LSH hash families (SimHash, DWTA) and config parsing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "sparsetrain/lsh/hash_family.h"
#include "sparsetrain/util/random.h"

namespace sparsetrain::lsh {
namespace {

std::vector<float> gaussian(size_t d, util::Rng& rng) {
  std::vector<float> v(d);
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

LshConfig make_config(Family f, int K, int L, size_t d, uint64_t seed) {
  LshConfig c;
  c.family = f;
  c.bits_per_table = K;
  c.num_tables = L;
  c.input_dim = d;
  c.seed = seed;
  return c;
}

TEST(FamilyName, NamesEachFamily) {
  EXPECT_STREQ(to_string(Family::SimHash), "simhash");
  EXPECT_STREQ(to_string(Family::Dwta), "dwta");
}

TEST(LshConfigTest, ValidateRejectsBadFields) {
  const LshConfig ok = make_config(Family::SimHash, 6, 16, 32, 1);
  EXPECT_NO_THROW(validate(ok));
  auto bad = ok;
  bad.bits_per_table = 0;
  EXPECT_THROW(validate(bad), std::invalid_argument);
  bad = ok;
  bad.bits_per_table = 25;
  EXPECT_THROW(validate(bad), std::invalid_argument);
  bad = ok;
  bad.num_tables = 0;
  EXPECT_THROW(validate(bad), std::invalid_argument);
  bad = ok;
  bad.bucket_capacity = 0;
  EXPECT_THROW(validate(bad), std::invalid_argument);
  bad = ok;
  bad.input_dim = 0;
  EXPECT_THROW(HashFamily::create(bad), std::invalid_argument);
  bad = ok;
  bad.family = Family::Dwta;
  bad.dwta_bin_size = 0;
  EXPECT_THROW(HashFamily::create(bad), std::invalid_argument);
}

class FamilyTest : public ::testing::TestWithParam<Family> {};

TEST_P(FamilyTest, SameVectorSameCodesAndCodesInRange) {
  util::Rng rng(7);
  for (int K : {1, 3, 6, 10}) {
    const LshConfig c = make_config(GetParam(), K, 16, 100, 42);
    const auto f1 = HashFamily::create(c);
    const auto f2 = HashFamily::create(c);  // rebuilt from (config, seed)
    std::vector<uint32_t> a(16), b(16), again(16);
    for (int i = 0; i < 50; ++i) {
      const auto x = gaussian(c.input_dim, rng);
      f1->hash(x.data(), a.data());
      f1->hash(x.data(), again.data());
      f2->hash(x.data(), b.data());
      EXPECT_EQ(a, again);
      EXPECT_EQ(a, b);
      for (uint32_t code : a) EXPECT_LT(code, table_size(c));
    }
  }
}

TEST_P(FamilyTest, DifferentSeedGivesDifferentCodes) {
  util::Rng rng(8);
  const auto fa = HashFamily::create(make_config(GetParam(), 6, 16, 64, 1));
  const auto fb = HashFamily::create(make_config(GetParam(), 6, 16, 64, 2));
  std::vector<uint32_t> a(16), b(16);
  int differing = 0;
  for (int i = 0; i < 20; ++i) {
    const auto x = gaussian(64, rng);
    fa->hash(x.data(), a.data());
    fb->hash(x.data(), b.data());
    differing += a != b;
  }
  EXPECT_GE(differing, 18);
}

TEST_P(FamilyTest, CodesSpreadOverBuckets) {
  // Random vectors should use most of the 2^K buckets of every table.
  util::Rng rng(9);
  const LshConfig c = make_config(GetParam(), 6, 8, 128, 3);
  const auto f = HashFamily::create(c);
  std::vector<std::vector<int>> hits(8, std::vector<int>(64, 0));
  std::vector<uint32_t> codes(8);
  for (int i = 0; i < 4000; ++i) {
    const auto x = gaussian(c.input_dim, rng);
    f->hash(x.data(), codes.data());
    for (int t = 0; t < 8; ++t) ++hits[t][codes[t]];
  }
  for (int t = 0; t < 8; ++t) {
    int used = 0, max_hits = 0;
    for (int h : hits[t]) {
      used += h > 0;
      max_hits = std::max(max_hits, h);
    }
    EXPECT_GE(used, 48) << "table " << t;
    EXPECT_LE(max_hits, 4000 / 64 * 4) << "table " << t;  // no bucket with 4x its share
  }
}

TEST_P(FamilyTest, ZeroAndTinyInputsAreHandled) {
  const LshConfig c = make_config(GetParam(), 6, 16, 50, 5);
  const auto f = HashFamily::create(c);
  std::vector<float> zero(50, 0.f), one_hot(50, 0.f);
  one_hot[17] = 1.f;
  std::vector<uint32_t> a(16), b(16);
  f->hash(zero.data(), a.data());
  f->hash(zero.data(), b.data());
  EXPECT_EQ(a, b);
  f->hash(one_hot.data(), a.data());
  f->hash(one_hot.data(), b.data());
  EXPECT_EQ(a, b);
  for (uint32_t code : a) EXPECT_LT(code, 64u);

  // input_dim smaller than the DWTA bin and than 3 (SimHash nnz = 1).
  for (size_t d : {1, 2, 5}) {
    const auto g = HashFamily::create(make_config(GetParam(), 4, 4, d, 6));
    std::vector<float> x(d, 0.5f);
    std::vector<uint32_t> codes(4);
    g->hash(x.data(), codes.data());
    for (uint32_t code : codes) EXPECT_LT(code, 16u);
  }
}

TEST_P(FamilyTest, InvariantToPositiveScaling) {
  // Both families depend only on signs / orderings, so x and 3x hash alike.
  util::Rng rng(10);
  const auto f = HashFamily::create(make_config(GetParam(), 6, 16, 96, 11));
  std::vector<uint32_t> a(16), b(16);
  for (int i = 0; i < 20; ++i) {
    auto x = gaussian(96, rng);
    f->hash(x.data(), a.data());
    for (auto& v : x) v *= 3.f;
    f->hash(x.data(), b.data());
    EXPECT_EQ(a, b);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyTest, ::testing::Values(Family::SimHash, Family::Dwta),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(SimHash, SparseProjectionsTouchAThirdOfTheCoordinates) {
  for (size_t d : {1, 2, 3, 128, 1000}) {
    SimHashFamily f(make_config(Family::SimHash, 6, 4, d, 1));
    ASSERT_EQ(f.num_planes(), 24u);
    for (size_t p = 0; p < f.num_planes(); ++p) EXPECT_EQ(f.plane_nnz(p), std::max<size_t>(1, d / 3));
  }
}

TEST(SimHash, NegationFlipsEveryBit) {
  util::Rng rng(12);
  SimHashFamily f(make_config(Family::SimHash, 6, 16, 128, 13));
  std::vector<uint32_t> a(16), b(16);
  for (int i = 0; i < 20; ++i) {
    auto x = gaussian(128, rng);  // projections are almost surely nonzero
    f.hash(x.data(), a.data());
    for (auto& v : x) v = -v;
    f.hash(x.data(), b.data());
    for (int t = 0; t < 16; ++t) EXPECT_EQ(a[t] ^ b[t], 63u);
  }
}

// SimHash's defining property, on both of hash()'s paths: the dense-matrix path (input_dim <=
// 4096, hidden layers) and the index-gather path (wider inputs). Two vectors at angle theta
// agree on a plane's sign with probability 1 - theta / pi; over 6 x 64 = 384 planes and 20
// pairs the agreement is within a few hundredths of it. Negation flips every bit.
TEST(SimHash, BitsAgreeAsOneMinusAngleOverPiOnBothPaths) {
  constexpr int K = 6, L = 64;
  for (size_t d : {size_t{128}, size_t{5000}}) {
    SCOPED_TRACE("input_dim " + std::to_string(d));
    SimHashFamily f(make_config(Family::SimHash, K, L, d, 21));
    util::Rng rng(22);
    for (double theta : {0.3, 1.0, 2.0}) {
      double agree = 0;
      std::vector<uint32_t> a(L), b(L), n(L);
      constexpr int kPairs = 20;
      for (int pair = 0; pair < kPairs; ++pair) {
        // y = cos(theta) x + sin(theta) z, z orthogonal to x and of the same norm.
        auto x = gaussian(d, rng), z = gaussian(d, rng);
        double xx = 0, xz = 0;
        for (size_t i = 0; i < d; ++i) xx += double(x[i]) * x[i], xz += double(x[i]) * z[i];
        double zz = 0;
        for (size_t i = 0; i < d; ++i) z[i] = static_cast<float>(z[i] - xz / xx * x[i]), zz += double(z[i]) * z[i];
        const double scale = std::sqrt(xx / zz);
        std::vector<float> y(d);
        for (size_t i = 0; i < d; ++i)
          y[i] = static_cast<float>(std::cos(theta) * x[i] + std::sin(theta) * scale * z[i]);
        f.hash(x.data(), a.data());
        f.hash(y.data(), b.data());
        for (int t = 0; t < L; ++t) agree += K - __builtin_popcount(a[t] ^ b[t]);
        for (auto& v : x) v = -v;
        f.hash(x.data(), n.data());
        for (int t = 0; t < L; ++t) ASSERT_EQ(a[t] ^ n[t], (1u << K) - 1);
      }
      agree /= double(kPairs) * K * L;
      EXPECT_NEAR(agree, 1.0 - theta / M_PI, 0.04) << "theta " << theta;
    }
  }
}

// hash() on both of its paths against the definition: bit k of table t is the sign of
// plane t * K + k's projection, the sum of x over its +1 coordinates minus the sum over its -1
// coordinates (computed here in double; projections within 1e-4 of 0 are not compared).
TEST(SimHash, EveryBitIsTheSignOfItsPlanesProjectionOnBothPaths) {
  constexpr int K = 5, L = 8;
  for (size_t d : {size_t{3}, size_t{128}, size_t{4096}, size_t{4097}, size_t{20000}}) {
    SCOPED_TRACE("input_dim " + std::to_string(d));
    SimHashFamily f(make_config(Family::SimHash, K, L, d, 31));
    util::Rng rng(32);
    std::vector<uint32_t> codes(L);
    for (int trial = 0; trial < 10; ++trial) {
      const auto x = gaussian(d, rng);
      f.hash(x.data(), codes.data());
      for (size_t p = 0; p < size_t{K} * L; ++p) {
        double proj = 0;
        for (uint32_t i : f.plane_plus(p)) proj += x[i];
        for (uint32_t i : f.plane_minus(p)) proj -= x[i];
        if (std::abs(proj) < 1e-4) continue;
        EXPECT_EQ((codes[p / K] >> (p % K)) & 1u, proj > 0 ? 1u : 0u) << "plane " << p << ", projection " << proj;
      }
    }
  }
}

TEST(Dwta, InvariantToMonotoneTransformAndDensifiesSparseInputs) {
  util::Rng rng(14);
  DwtaFamily f(make_config(Family::Dwta, 6, 16, 256, 15));
  EXPECT_EQ(f.bin_size(), 8u);
  std::vector<uint32_t> a(16), b(16);
  // WTA only sees the order of the values inside each bin.
  auto x = gaussian(256, rng);
  f.hash(x.data(), a.data());
  for (auto& v : x) v = std::exp(v);
  f.hash(x.data(), b.data());
  EXPECT_EQ(a, b);

  // A sparse vector (most bins empty): densification must make equal inputs
  // agree and near-equal sparse inputs agree more often than unrelated ones.
  std::vector<float> s(256, 0.f), s2, other(256, 0.f);
  for (int i = 0; i < 24; ++i) s[rng.below(256)] = static_cast<float>(rng.uniform() + 0.1);
  for (int i = 0; i < 24; ++i) other[rng.below(256)] = static_cast<float>(rng.uniform() + 0.1);
  s2 = s;
  for (auto& v : s2) v *= 2.f;
  f.hash(s.data(), a.data());
  f.hash(s2.data(), b.data());
  EXPECT_EQ(a, b);
  f.hash(other.data(), b.data());
  int same = 0;
  for (int t = 0; t < 16; ++t) same += a[t] == b[t];
  EXPECT_LE(same, 4);
}

}  // namespace
}  // namespace sparsetrain::lsh
