#pragma once
// Internal helpers shared by the hash families (not part of the public API).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sparsetrain/util/random.h"

namespace sparsetrain::lsh::detail {

// Sub-stream ids for util::derive_seed, one per consumer of the LSH seed.
inline constexpr uint64_t kStreamSimHash = 0x51d0'0001;
inline constexpr uint64_t kStreamDwtaBins = 0x51d0'0002;
inline constexpr uint64_t kStreamDwtaProbe = 0x51d0'0003;
inline constexpr uint64_t kStreamReservoir = 0x51d0'0004;

// Maps a uniform 64-bit value to [0, n) (multiply-shift, as util::Rng::below).
inline uint64_t reduce(uint64_t h, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(h) * n) >> 64);
}

// Appends m distinct values drawn uniformly from [0, d), in increasing order.
// Small m uses Floyd's algorithm (O(m^2), independent of d); large m uses
// selection sampling (Knuth's Algorithm S, O(d)).
inline void sample_sorted(util::Rng& rng, size_t d, size_t m, std::vector<uint32_t>& out) {
  m = std::min(m, d);
  const size_t start = out.size();
  if (m <= 64) {
    for (size_t j = d - m; j < d; ++j) {
      const auto t = static_cast<uint32_t>(rng.below(j + 1));
      const bool taken = std::find(out.begin() + start, out.end(), t) != out.end();
      out.push_back(taken ? static_cast<uint32_t>(j) : t);
    }
    std::sort(out.begin() + start, out.end());
  } else {
    size_t chosen = 0;
    for (size_t i = 0; i < d && chosen < m; ++i) {
      if (rng.below(d - i) < m - chosen) {
        out.push_back(static_cast<uint32_t>(i));
        ++chosen;
      }
    }
  }
}

}  // namespace sparsetrain::lsh::detail
