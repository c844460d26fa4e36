#pragma once
// Per-field marginal statistics of the Criteo click logs that the synthetic
// generator reproduces. The numbers live in src/synth/criteo_profile.cpp; they
// are exposed so that tests (and curious users) can compare generated data
// against them.
#include <array>
#include <cstdint>

namespace sparsetrain::synth {

inline constexpr int kNumIntFields = 13;  // I1..I13
inline constexpr int kNumCatFields = 26;  // C1..C26

// Probabilities at which IntFieldProfile::quantiles are given.
inline constexpr int kNumQuantiles = 15;
inline constexpr std::array<double, kNumQuantiles> kQuantileProbs = {0.0,  0.05, 0.10, 0.20, 0.30, 0.40,  0.50, 0.60,
                                                                     0.70, 0.80, 0.90, 0.95, 0.99, 0.999, 1.0};

// Fields that are missing together in the real data (always all or none of the
// group in the sample) share one random draw per row; kNoGroup = independent.
inline constexpr int kNoGroup = -1;
inline constexpr int kNumMissingGroups = 5;

struct IntFieldProfile {
  double missing_rate;                           // fraction of rows with an empty field
  int missing_group;                             // kNoGroup or 0..kNumMissingGroups-1
  std::array<int64_t, kNumQuantiles> quantiles;  // of the present values, at kQuantileProbs
};

struct CatFieldProfile {
  double missing_rate;
  int missing_group;
  uint64_t cardinality;  // distinct values in the full Kaggle training set
  double head_share;     // share of the most frequent value among present values
  // The other values (ranks k = 2..cardinality) follow the Zipf-Mandelbrot
  // law P(k) ∝ (k + zipf_q)^-zipf_s; zipf_q > 0 flattens the head.
  double zipf_s;
  double zipf_q;
};

const std::array<IntFieldProfile, kNumIntFields>& int_field_profiles();
const std::array<CatFieldProfile, kNumCatFields>& cat_field_profiles();

}  // namespace sparsetrain::synth
