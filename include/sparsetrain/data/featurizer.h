#pragma once
// Turns a parsed Criteo row into exactly 39 hashed feature ids (one per field; a
// missing value gets its own per-field token) and, optionally, 13 dense values.
#include <cstdint>
#include <vector>

#include "sparsetrain/data/criteo_row.h"

namespace sparsetrain::data {

enum class IntEncoding {
  LogSquared,  // v > 2 -> floor(ln(v)^2), else v (the Kaggle-winning binning)
  Identity,    // every distinct integer is its own token
};

struct FeaturizerOptions {
  uint64_t input_dim = 1u << 20;  // ids are in [0, input_dim), input_dim <= 2^32
  uint64_t hash_seed = 0;
  IntEncoding int_encoding = IntEncoding::LogSquared;
  bool dense_features = true;
};

class Featurizer {
 public:
  static constexpr int kIdsPerRow = kNumFields;       // 39
  static constexpr int kDensePerRow = kNumIntFields;  // 13

  explicit Featurizer(const FeaturizerOptions& options);

  // Writes kIdsPerRow ids to `ids` and, when dense features are on, kDensePerRow
  // values log(1 + max(v, 0)) to `dense` (0 for missing).
  void featurize(const CriteoRow& row, uint32_t* ids, float* dense) const;

  // The id of one (field, token) pair; exposed for tests and tools.
  uint32_t int_id(int field, bool present, int64_t value) const;
  uint32_t cat_id(int field, bool present, uint32_t value) const;

  const FeaturizerOptions& options() const { return options_; }

 private:
  uint32_t reduce(uint64_t key) const;
  int64_t int_token(int64_t v) const;

  FeaturizerOptions options_;
  uint64_t seed_mix_;
  std::vector<uint16_t> log_bin_table_;  // floor(ln(v)^2) for small v: avoids a log per field
  std::vector<float> log1p_table_;       // log(1+v) for small v
};

// Flat, reusable batch: row i's ids are ids[i*39 .. +39), dense values dense[i*13 .. +13).
struct Batch {
  size_t rows = 0;
  std::vector<uint32_t> ids;
  std::vector<float> dense;
  std::vector<float> labels;   // 0/1, or -1 for unlabeled rows
  std::vector<uint8_t> valid;  // 0 for a placeholder of a malformed row (ReaderOptions::emit_invalid)
  void resize(size_t n, bool with_dense) {
    rows = n;
    valid.resize(n, 1);  // keeps the flags of the first rows (see CriteoReader::next_batch)
    ids.resize(n * Featurizer::kIdsPerRow);
    dense.resize(with_dense ? n * Featurizer::kDensePerRow : 0);
    labels.resize(n);
  }
};

}  // namespace sparsetrain::data
