#pragma once
// Fast, well-mixed 64-bit hashing used by the featurizer, the LSH and the RNG seeding.
// One definition so that every module hashes the same way.
#include <cstdint>

namespace sparsetrain::util {

// MurmurHash3's 64-bit finalizer: full avalanche, 5 operations.
constexpr uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

// Hash of a (key, seed) pair.
constexpr uint64_t hash64(uint64_t key, uint64_t seed) { return fmix64(key ^ fmix64(seed + 0x9e3779b97f4a7c15ULL)); }

// Derives an independent seed for a named sub-stream ("what" is a small constant
// per consumer, "index" e.g. a layer or table number).
constexpr uint64_t derive_seed(uint64_t seed, uint64_t what, uint64_t index = 0) {
  return fmix64(fmix64(seed ^ (what * 0x9e3779b97f4a7c15ULL)) + index);
}

}  // namespace sparsetrain::util
