// Densified winner-take-all hashing (Chen & Shrivastava, UAI 2018).
#include <algorithm>

#include "sampling.h"
#include "sparsetrain/lsh/hash_family.h"
#include "sparsetrain/util/hash.h"

namespace sparsetrain::lsh {

namespace {
// Densification probes before giving up on an empty bin. A vector whose
// probed bins are all empty (e.g. all zeros) gets a fixed "all empty" winner.
constexpr uint32_t kMaxProbes = 32;
}  // namespace

DwtaFamily::DwtaFamily(const LshConfig& config) : HashFamily(config) {
  validate(config);
  const size_t d = config.input_dim;
  bin_size_ = std::min<size_t>(static_cast<size_t>(config.dwta_bin_size), d);
  num_bins_ = static_cast<size_t>(config.bits_per_table) * static_cast<size_t>(config.num_tables);
  probe_seed_ = util::derive_seed(config.seed, detail::kStreamDwtaProbe);
  coords_.reserve(num_bins_ * bin_size_);
  for (size_t b = 0; b < num_bins_; ++b) {
    util::Rng rng(util::derive_seed(config.seed, detail::kStreamDwtaBins, b));
    detail::sample_sorted(rng, d, bin_size_, coords_);
  }
}

uint32_t DwtaFamily::winner(const float* x, size_t b) const {
  const uint32_t* c = coords_.data() + b * bin_size_;
  float best = x[c[0]];
  uint32_t arg = 0;
  bool nonzero = best != 0.f;
  for (size_t i = 1; i < bin_size_; ++i) {
    const float v = x[c[i]];
    nonzero |= v != 0.f;
    if (v > best) {  // strict: the first maximum wins ties
      best = v;
      arg = static_cast<uint32_t>(i);
    }
  }
  return nonzero ? arg : kEmpty;
}

void DwtaFamily::hash(const float* x, uint32_t* codes) const {
  const size_t K = static_cast<size_t>(config_.bits_per_table);
  const size_t L = static_cast<size_t>(config_.num_tables);
  const uint32_t bs = static_cast<uint32_t>(bin_size_);
  for (size_t t = 0; t < L; ++t) {
    uint64_t acc = t;
    for (size_t k = 0; k < K; ++k) {
      const size_t b = t * K + k;
      uint32_t w = winner(x, b);
      if (w == kEmpty) {
        // Densification: borrow the winner of the first non-empty bin along a
        // pseudo-random probe sequence that depends only on (seed, b, attempt),
        // so equal inputs still agree. The attempt number is folded in (as in
        // densified one-permutation hashing) so that a borrowed value is not
        // confused with the bin's own winner.
        w = bs * (kMaxProbes + 1);  // all probes empty
        for (uint32_t a = 1; a <= kMaxProbes; ++a) {
          const uint64_t h = util::hash64((static_cast<uint64_t>(b) << 8) | a, probe_seed_);
          const uint32_t w2 = winner(x, detail::reduce(h, num_bins_));
          if (w2 != kEmpty) {
            w = w2 + a * bs;
            break;
          }
        }
      }
      // Polynomial combination of the K winners; fmix64 below spreads it.
      acc = acc * 0x100000001b3ULL + w + 1;
    }
    codes[t] = static_cast<uint32_t>(util::fmix64(acc) >> (64 - K));
  }
}

}  // namespace sparsetrain::lsh
