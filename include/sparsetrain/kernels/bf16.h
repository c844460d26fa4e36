#pragma once
// bfloat16 storage for Adam's moments (optim.moments = bfloat16).
//
// Why: memory. Keeping m and v as the upper 16 bits of their float32 value cuts the
// model from 12 to 8 bytes per parameter (a 1B-parameter table in 8 GB instead of 12).
// Measured (2M generated rows, 5 seeds): test AUC 0.0005-0.006 lower than float32
// moments, mean 0.0019; the update itself is only ~4% faster (the random rows' misses,
// not the bytes, bound it). So it is opt-in, for tables that do not fit otherwise.
//
// Rounding: Adam's v moves by (1 - beta2) = 0.1% per step, below bfloat16's 0.4% step,
// so round-to-nearest would freeze it. Values are rounded stochastically instead: add 16
// random bits to the float's bit pattern and truncate, which rounds up with probability
// equal to the discarded fraction (unbiased in expectation). The random bits are a hash
// of (seed, row id, column), not a generator's stream, so a row's rounding does not
// depend on the thread or rank that updates it, and a resumed run repeats it exactly.
#include <cstdint>
#include <cstring>

namespace sparsetrain::kernels {

inline float bf16_to_float(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Round to nearest even (for converting float32 checkpoints and initial values). NaN stays NaN.
inline uint16_t bf16_from_float(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  const bool nan = (bits & 0x7F800000u) == 0x7F800000u && (bits & 0x007FFFFFu) != 0;
  if (nan) return static_cast<uint16_t>((bits >> 16) | 0x40);  // keep it a NaN
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

// Stochastic rounding with the 16 random bits `r` (the low 16 bits are used). Magnitudes round up or
// down, so both signs are unbiased; a finite value can round up to infinity only within
// one bfloat16 step of FLT_MAX.
inline uint16_t bf16_round_stochastic(float f, uint32_t r) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7F800000u) == 0x7F800000u)  // inf stays inf, NaN stays NaN
    return static_cast<uint16_t>((bits >> 16) | ((bits & 0x007FFFFFu) ? 0x40 : 0));
  return static_cast<uint16_t>((bits + (r & 0xFFFFu)) >> 16);
}

// The random bits. Per (seed, row): one 64-bit hash (MurmurHash3's finalizer) gives a
// 32-bit key for m (low half) and one for v (high half). Element `col` rounds with the
// top 16 bits of key + col * 0x9E3779B9 (a Weyl sequence): cheap enough for the AVX-512
// kernel (one add per 16 columns; a full hash per element cost ~25 ns per 64-float row,
// as much as the bandwidth it saves), and since the key is a fresh hash at every step,
// each element's bits are uniform over steps, which is what unbiased rounding needs.
struct Bf16RowKeys {
  uint32_t m, v;
};
inline Bf16RowKeys bf16_row_keys(uint32_t seed, uint32_t row) {
  uint64_t k = (static_cast<uint64_t>(seed) << 32) | row;
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return {static_cast<uint32_t>(k), static_cast<uint32_t>(k >> 32)};
}
constexpr uint32_t kBf16ColumnStep = 0x9E3779B9u;
inline uint32_t bf16_round_bits(uint32_t key, uint32_t col) { return (key + col * kBf16ColumnStep) >> 16; }

}  // namespace sparsetrain::kernels
