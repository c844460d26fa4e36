// Featurizer tests: 39 ids per row in range for any input_dim, per-field missing
// tokens, field separation, the log-squared binning, identity mode, dense values and
// the hash seed.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "sparsetrain/data/criteo_row.h"
#include "sparsetrain/data/featurizer.h"

namespace sparsetrain::data {
namespace {

const std::string kFixture = std::string(ST_TEST_DATA_DIR) + "/criteo_kaggle_head8k.tsv";

std::vector<CriteoRow> fixture_rows() {
  std::ifstream in(kFixture, std::ios::binary);
  EXPECT_TRUE(in);
  std::vector<CriteoRow> rows;
  std::string line;
  CriteoRow row;
  ParseFailure f;
  while (std::getline(in, line)) {
    EXPECT_TRUE(parse_criteo_line(line.data(), line.size(), LabelMode::Required, row, f));
    rows.push_back(row);
  }
  return rows;
}

FeaturizerOptions opts(uint64_t dim, uint64_t seed = 0, IntEncoding enc = IntEncoding::LogSquared) {
  FeaturizerOptions o;
  o.input_dim = dim;
  o.hash_seed = seed;
  o.int_encoding = enc;
  return o;
}

TEST(Featurizer, IdsInRangeForManyInputDims) {
  const std::vector<CriteoRow> rows = fixture_rows();
  ASSERT_EQ(rows.size(), 8087u);
  for (uint64_t dim :
       {1ull, 2ull, 7ull, 1000ull, 1ull << 20, 1000003ull, (1ull << 31) + 11, (1ull << 32) - 1, 1ull << 32}) {
    Featurizer fz(opts(dim));
    uint32_t ids[Featurizer::kIdsPerRow];
    float dense[Featurizer::kDensePerRow];
    uint32_t max_id = 0;
    std::unordered_set<uint32_t> distinct;
    for (const CriteoRow& r : rows) {
      for (uint32_t& id : ids) id = 0xdeadbeef;
      fz.featurize(r, ids, dense);
      for (int k = 0; k < Featurizer::kIdsPerRow; ++k) {
        ASSERT_LT(uint64_t{ids[k]}, dim) << "dim " << dim << " field " << k;
        max_id = std::max(max_id, ids[k]);
        distinct.insert(ids[k]);
      }
    }
    if (dim == 1) {
      EXPECT_EQ(max_id, 0u);
    } else if (dim >= (1ull << 20)) {
      // Large spaces: the ids spread over the whole range (upper half is reached).
      EXPECT_GE(uint64_t{max_id}, dim / 2) << dim;
      EXPECT_GT(distinct.size(), 20000u) << dim;
    }
  }
  EXPECT_THROW(Featurizer{opts(0)}, std::invalid_argument);
  EXPECT_THROW(Featurizer{opts((1ull << 32) + 1)}, std::invalid_argument);
}

TEST(Featurizer, MissingIsItsOwnPerFieldToken) {
  const std::vector<CriteoRow> rows = fixture_rows();
  Featurizer fz(opts(1ull << 32));
  for (int f = 0; f < kNumIntFields; ++f) {
    const uint32_t missing = fz.int_id(f, false, 0);
    EXPECT_EQ(missing, fz.int_id(f, false, 12345)) << "value of a missing field is ignored";
    // Different from the token of any present value in this field (values 0..100000 and the fixture's).
    for (int64_t v = -100; v <= 100000; ++v) ASSERT_NE(missing, fz.int_id(f, true, v)) << f << " " << v;
    for (const CriteoRow& r : rows)
      if (r.int_present[f]) {
        ASSERT_NE(missing, fz.int_id(f, true, r.int_value[f]));
      }
    for (int g = 0; g < kNumIntFields; ++g)
      if (g != f) {
        EXPECT_NE(missing, fz.int_id(g, false, 0));
      }
  }
  std::set<uint32_t> cat_missing;
  for (int f = 0; f < kNumCatFields; ++f) {
    const uint32_t missing = fz.cat_id(f, false, 0);
    EXPECT_EQ(missing, fz.cat_id(f, false, 0x1234));
    EXPECT_NE(missing, fz.cat_id(f, true, 0));  // "00000000" is a value, not missing
    EXPECT_NE(missing, fz.cat_id(f, true, 0xffffffffu));
    for (const CriteoRow& r : rows)
      if (r.cat_present[f]) {
        ASSERT_NE(missing, fz.cat_id(f, true, r.cat_value[f]));
      }
    cat_missing.insert(missing);
    for (int g = 0; g < kNumIntFields; ++g) EXPECT_NE(missing, fz.int_id(g, false, 0));
  }
  EXPECT_EQ(cat_missing.size(), static_cast<size_t>(kNumCatFields));

  // featurize() uses the same ids as int_id / cat_id.
  const CriteoRow& r0 = rows[0];
  uint32_t ids[Featurizer::kIdsPerRow];
  fz.featurize(r0, ids, nullptr);
  EXPECT_EQ(ids[11], fz.int_id(11, false, 0));                  // I12 missing in row 1
  EXPECT_EQ(ids[kNumIntFields + 21], fz.cat_id(21, false, 0));  // C22 missing in row 1
  for (int f = 0; f < kNumIntFields; ++f) EXPECT_EQ(ids[f], fz.int_id(f, r0.int_present[f], r0.int_value[f]));
  for (int f = 0; f < kNumCatFields; ++f)
    EXPECT_EQ(ids[kNumIntFields + f], fz.cat_id(f, r0.cat_present[f], r0.cat_value[f]));
}

TEST(Featurizer, SameValueInDifferentFieldsGetsDifferentIds) {
  Featurizer fz(opts(1ull << 32));
  for (uint32_t v : {0u, 1u, 5u, 0x68fd1e64u, 0xffffffffu}) {
    std::set<uint32_t> ids;
    for (int f = 0; f < kNumCatFields; ++f) ids.insert(fz.cat_id(f, true, v));
    for (int f = 0; f < kNumIntFields; ++f) ids.insert(fz.int_id(f, true, v));
    EXPECT_EQ(ids.size(), static_cast<size_t>(kNumFields)) << std::hex << v;
  }
  // In a 2^20 space the fixture's cross-field collisions stay at the birthday rate: a
  // value present in two categorical fields almost never gets the same id in both.
  Featurizer small(opts(1u << 20));
  int same = 0, total = 0;
  for (uint32_t v = 0; v < 2000; ++v)
    for (int f = 1; f < kNumCatFields; ++f, ++total) same += small.cat_id(0, true, v) == small.cat_id(f, true, v);
  EXPECT_LE(same, 2) << "of " << total;
}

TEST(Featurizer, DistinctValuesInOneFieldRarelyCollide) {
  Featurizer fz(opts(1ull << 32));
  std::unordered_set<uint32_t> ids;
  for (uint32_t v = 0; v < 100000; ++v) ids.insert(fz.cat_id(3, true, v * 2654435761u));
  EXPECT_GE(ids.size(), 99995u);
}

TEST(Featurizer, LogSquaredBinning) {
  Featurizer fz(opts(1ull << 32));
  auto expect_token = [&](int64_t v, int64_t token) {
    // The token is visible through the id: the same id as the value whose token it is.
    for (int f : {0, 4, 12}) {
      EXPECT_EQ(fz.int_id(f, true, v), Featurizer(opts(1ull << 32, 0, IntEncoding::Identity)).int_id(f, true, token))
          << "v=" << v << " token=" << token;
    }
  };
  // 0, 1, 2 (and negatives) are kept as they are.
  for (int64_t v : {-5, -1, 0, 1, 2}) expect_token(v, v);
  // 3 -> floor(ln(3)^2) = 1 (the same bin as 1), 4 -> 1, 5..7 -> 2, 8..11 -> 4 ... check vs std::log.
  EXPECT_EQ(fz.int_id(0, true, 3), fz.int_id(0, true, 1));
  EXPECT_EQ(fz.int_id(0, true, 4), fz.int_id(0, true, 1));
  EXPECT_EQ(fz.int_id(0, true, 5), fz.int_id(0, true, 2));
  EXPECT_NE(fz.int_id(0, true, 2), fz.int_id(0, true, 1));
  for (int64_t v : {3LL, 4LL, 5LL, 6LL, 7LL, 8LL, 15LL, 16LL, 100LL, 1382LL, 65535LL, 65536LL, 65537LL, 1000000LL,
                    123456789LL, 999999999999999999LL}) {
    const double l = std::log(static_cast<double>(v));
    expect_token(v, static_cast<int64_t>(std::floor(l * l)));
  }
  // Spot values, by hand.
  expect_token(3, 1);
  expect_token(8, 4);      // ln 8 = 2.079, ^2 = 4.32
  expect_token(100, 21);   // ln 100 = 4.605, ^2 = 21.2
  expect_token(1382, 52);  // ln 1382 = 7.231, ^2 = 52.3
  // Every v in the table range agrees with std::log.
  Featurizer ident(opts(1ull << 32, 0, IntEncoding::Identity));
  for (int64_t v = 3; v < 70000; v += 7) {
    const double l = std::log(static_cast<double>(v));
    ASSERT_EQ(fz.int_id(2, true, v), ident.int_id(2, true, static_cast<int64_t>(std::floor(l * l)))) << v;
  }
}

TEST(Featurizer, IdentityEncodingKeepsEveryInteger) {
  Featurizer fz(opts(1ull << 32, 0, IntEncoding::Identity));
  std::unordered_set<uint32_t> ids;
  for (int64_t v = 0; v < 20000; ++v) ids.insert(fz.int_id(4, true, v));
  EXPECT_GE(ids.size(), 19995u);
  EXPECT_NE(fz.int_id(4, true, 3), fz.int_id(4, true, 1));
  EXPECT_NE(fz.int_id(4, true, 1000), fz.int_id(4, true, 1001));
  EXPECT_NE(fz.int_id(4, true, -1), fz.int_id(4, false, 0));
  // Categorical ids do not depend on the integer encoding.
  Featurizer ls(opts(1ull << 32));
  EXPECT_EQ(fz.cat_id(7, true, 0xabcdef12u), ls.cat_id(7, true, 0xabcdef12u));
  EXPECT_EQ(fz.cat_id(7, false, 0), ls.cat_id(7, false, 0));
}

TEST(Featurizer, DenseIsLog1pOfClampedValue) {
  const std::vector<CriteoRow> rows = fixture_rows();
  Featurizer fz(opts(1u << 20));
  uint32_t ids[Featurizer::kIdsPerRow];
  float dense[Featurizer::kDensePerRow];
  for (size_t i = 0; i < rows.size(); i += 3) {
    const CriteoRow& r = rows[i];
    fz.featurize(r, ids, dense);
    for (int f = 0; f < kNumIntFields; ++f) {
      const double v = r.int_present[f] ? std::max<double>(static_cast<double>(r.int_value[f]), 0.0) : 0.0;
      ASSERT_FLOAT_EQ(dense[f], static_cast<float>(std::log1p(v))) << "row " << i << " I" << f + 1;
    }
  }
  // Hand-made row: negative, missing, small, table edge and huge values.
  CriteoRow r{};
  const int64_t vals[kNumIntFields] = {-3, 0, 1, 2, 65535, 65536, 1000000, 999999999999999999LL, 7, 0, 0, 0, 0};
  for (int f = 0; f < kNumIntFields; ++f) {
    r.int_present[f] = f < 9;
    r.int_value[f] = vals[f];
  }
  for (int f = 0; f < kNumCatFields; ++f) r.cat_present[f] = false;
  fz.featurize(r, ids, dense);
  EXPECT_EQ(dense[0], 0.0f);
  EXPECT_EQ(dense[1], 0.0f);
  EXPECT_FLOAT_EQ(dense[2], static_cast<float>(std::log(2.0)));
  EXPECT_FLOAT_EQ(dense[3], static_cast<float>(std::log(3.0)));
  EXPECT_FLOAT_EQ(dense[4], static_cast<float>(std::log1p(65535.0)));
  EXPECT_FLOAT_EQ(dense[5], static_cast<float>(std::log1p(65536.0)));
  EXPECT_FLOAT_EQ(dense[6], static_cast<float>(std::log1p(1000000.0)));
  EXPECT_FLOAT_EQ(dense[7], static_cast<float>(std::log1p(999999999999999999.0)));
  EXPECT_FLOAT_EQ(dense[8], static_cast<float>(std::log(8.0)));
  for (int f = 9; f < kNumIntFields; ++f) EXPECT_EQ(dense[f], 0.0f) << "missing -> 0";

  // With dense features off, the dense buffer is left alone.
  FeaturizerOptions o = opts(1u << 20);
  o.dense_features = false;
  Featurizer nodense(o);
  for (float& d : dense) d = -42.0f;
  nodense.featurize(r, ids, dense);
  for (float d : dense) EXPECT_EQ(d, -42.0f);
  uint32_t ids2[Featurizer::kIdsPerRow];
  fz.featurize(r, ids2, nullptr);  // null dense is allowed
  for (int k = 0; k < Featurizer::kIdsPerRow; ++k) EXPECT_EQ(ids[k], ids2[k]);
}

TEST(Featurizer, HashSeedChangesIdsDeterministically) {
  const std::vector<CriteoRow> rows = fixture_rows();
  Featurizer a(opts(1u << 24, 0)), a2(opts(1u << 24, 0)), b(opts(1u << 24, 1)), c(opts(1u << 24, 0xfeedULL));
  uint32_t ia[39], ia2[39], ib[39], ic[39];
  size_t differ_b = 0, differ_c = 0, total = 0;
  for (size_t i = 0; i < 500; ++i) {
    a.featurize(rows[i], ia, nullptr);
    a2.featurize(rows[i], ia2, nullptr);
    b.featurize(rows[i], ib, nullptr);
    c.featurize(rows[i], ic, nullptr);
    for (int k = 0; k < 39; ++k, ++total) {
      ASSERT_EQ(ia[k], ia2[k]);
      differ_b += ia[k] != ib[k];
      differ_c += ia[k] != ic[k];
    }
  }
  EXPECT_GE(differ_b, total * 99 / 100);
  EXPECT_GE(differ_c, total * 99 / 100);
}

TEST(Featurizer, IdsAreStableAcrossInstancesAndDims) {
  // Golden-ish property: with a power-of-two dim, the id for dim/2 is the id for dim >> 1
  // (multiply-shift reduction keeps the high bits), so shrinking the space nests ids.
  Featurizer big(opts(1ull << 32)), half(opts(1ull << 31)), small(opts(1u << 20));
  for (int f = 0; f < kNumCatFields; ++f) {
    for (uint32_t v : {0u, 17u, 0xdeadbeefu}) {
      const uint32_t id = big.cat_id(f, true, v);
      EXPECT_EQ(half.cat_id(f, true, v), id >> 1);
      EXPECT_EQ(small.cat_id(f, true, v), id >> 12);
    }
  }
}

}  // namespace
}  // namespace sparsetrain::data
