#pragma once
// Synthetic Criteo-like click logs with a planted model, so that the best AUC
// any model can reach on them is known (it is the AUC of the true click
// probability against the sampled labels).
//
// Output format: the Criteo Kaggle text format, `label \t I1..I13 \t C1..C26`
// (or 39 columns without the label, like Kaggle's test.txt), tab separated,
// empty field = missing, integers in decimal, categoricals as 8 lowercase hex
// digits. Field marginals follow criteo_profile.h.
//
// The planted model and the value -> hex-string mapping do not depend on the
// seed: two files written with different seeds (say train and test) are two
// samples of the same world. They do depend on the profile and on
// cardinality_scale (the click rate and AUC are recalibrated for those).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sparsetrain/data/criteo_row.h"

namespace sparsetrain::synth {

// The planted click model. Kaggle and Tb share one model and differ only in
// the click rate (~25.6% vs ~3%). The others differ from Kaggle in kind, so an
// accuracy claim can be checked on more than the one model it was tuned on
// (all at Kaggle's click rate and best reachable AUC ~0.805):
//   Crosses      much of the signal in pairwise crosses (24 categorical pairs,
//                integer-bin x categorical crosses), weaker main effects;
//   Nonmonotone  integer effects are waves / mid-range peaks with no monotone
//                slope, weaker categorical effects;
//   Heavytail    heavier Zipf tails (more rows hold rare values) and rare
//                values' effects as large as frequent ones';
//   Lighttail    lighter Zipf tails, signal concentrated in the head values.
enum class Profile { Kaggle, Tb, Crosses, Nonmonotone, Heavytail, Lighttail };

// "kaggle" | "1tb" (alias "lowctr") | "crosses" | "nonmonotone" | "heavytail" |
// "lighttail"; anything else throws std::invalid_argument listing them all.
Profile parse_profile(const std::string& name);
// The accepted names, comma separated, in the order above.
std::string profile_names();
// Share of the planted logit's variance that comes from the crosses (pairs and
// integer x categorical), measured on the fixed calibration sample.
double planted_cross_share(Profile profile);

struct SynthOptions {
  uint64_t rows = 100000;
  uint64_t seed = 1;
  Profile profile = Profile::Kaggle;
  std::string output;              // path; a ".gz" suffix writes gzip (level 1)
  std::string probabilities_out;   // optional: one true click probability per row, "%.6f\n"
  bool with_label = true;          // false -> 39-column rows like Kaggle test.txt
  double cardinality_scale = 1.0;  // multiplies every categorical field's cardinality
  int threads = 0;                 // generator threads; 0 = hardware concurrency.
                                   // The output does not depend on it.
};

struct SynthReport {
  uint64_t rows;
  uint64_t bytes;         // uncompressed bytes of the main output
  double positives_rate;  // fraction of sampled labels that are 1
  double seconds;
};

// Writes opts.rows rows; throws std::runtime_error naming the path on I/O
// failure and std::invalid_argument on bad options.
SynthReport write_synthetic(const SynthOptions& opts);

// Row `row` of the stream `seed` as the reader parses it from the file write_synthetic
// writes (same profile, scale and seed), without the text and without the label (-1: the
// click model is not calibrated, which saves ~0.3 s per sampler). For tools that need the
// data's id distribution at volumes no file should hold: the SMPI scaling driver draws
// 720,000 rows per simulated step.
class RowSampler {
 public:
  explicit RowSampler(Profile profile, double cardinality_scale = 1.0);
  ~RowSampler();
  RowSampler(const RowSampler&) = delete;
  RowSampler& operator=(const RowSampler&) = delete;
  void sample(uint64_t seed, uint64_t row, data::CriteoRow& out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Exact ROC-AUC of `probs` as scores for binary `labels` (util::exact_auc: label > 0.5
// is positive, tied scores counted as half). Returns NaN when one class is absent or a
// probability is NaN; throws std::invalid_argument on a size mismatch.
double best_reachable_auc(const std::vector<float>& labels, const std::vector<float>& probs);

}  // namespace sparsetrain::synth
