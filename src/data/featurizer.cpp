#include "sparsetrain/data/featurizer.h"

#include <cmath>
#include <stdexcept>

#include "sparsetrain/util/hash.h"

namespace sparsetrain::data {
namespace {
constexpr int64_t kTableSize = 1 << 16;
// Key layout: field index in bits 40..47, a "missing" flag in bit 39, the value below.
constexpr uint64_t kMissingBit = 1ULL << 39;
inline uint64_t field_key(int field) { return static_cast<uint64_t>(field) << 40; }
}  // namespace

Featurizer::Featurizer(const FeaturizerOptions& options)
    : options_(options), seed_mix_(util::fmix64(options.hash_seed + 0x9e3779b97f4a7c15ULL)) {
  if (options_.input_dim < 1 || options_.input_dim > (1ULL << 32)) {
    throw std::invalid_argument("input_dim must be in [1, 2^32]");
  }
  log_bin_table_.resize(kTableSize);
  log1p_table_.resize(kTableSize);
  for (int64_t v = 0; v < kTableSize; ++v) {
    const double l = std::log(static_cast<double>(v));
    log_bin_table_[v] = static_cast<uint16_t>(v > 2 ? std::floor(l * l) : v);
    log1p_table_[v] = static_cast<float>(std::log1p(static_cast<double>(v)));
  }
}

// Lemire's multiply-shift maps a 64-bit hash to [0, input_dim) without a division.
inline uint32_t Featurizer::reduce(uint64_t key) const {
  const uint64_t h = util::fmix64(key ^ seed_mix_);
  return static_cast<uint32_t>((static_cast<unsigned __int128>(h) * options_.input_dim) >> 64);
}

inline int64_t Featurizer::int_token(int64_t v) const {
  if (options_.int_encoding == IntEncoding::Identity || v <= 2) return v;
  if (v < kTableSize) return log_bin_table_[v];
  const double l = std::log(static_cast<double>(v));
  return static_cast<int64_t>(std::floor(l * l));
}

uint32_t Featurizer::int_id(int field, bool present, int64_t value) const {
  if (!present) return reduce(field_key(field) | kMissingBit);
  // Tokens are small (|v| < 2^39 after binning for any realistic input); the mask keeps
  // negative values from reaching the field bits.
  return reduce(field_key(field) | (static_cast<uint64_t>(int_token(value)) & (kMissingBit - 1)));
}

uint32_t Featurizer::cat_id(int field, bool present, uint32_t value) const {
  const uint64_t key = field_key(kNumIntFields + field);
  return reduce(present ? key | value : key | kMissingBit);
}

void Featurizer::featurize(const CriteoRow& row, uint32_t* ids, float* dense) const {
  for (int i = 0; i < kNumIntFields; ++i) ids[i] = int_id(i, row.int_present[i], row.int_value[i]);
  for (int i = 0; i < kNumCatFields; ++i) ids[kNumIntFields + i] = cat_id(i, row.cat_present[i], row.cat_value[i]);
  if (options_.dense_features && dense) {
    for (int i = 0; i < kNumIntFields; ++i) {
      const int64_t v = row.int_present[i] && row.int_value[i] > 0 ? row.int_value[i] : 0;
      dense[i] = v < kTableSize ? log1p_table_[v] : static_cast<float>(std::log1p(static_cast<double>(v)));
    }
  }
}

}  // namespace sparsetrain::data
