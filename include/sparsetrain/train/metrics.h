#pragma once
// Click-prediction quality: ROC-AUC and logloss.
//
// AUC is exact (sort by score, ties averaged) while the scored rows fit a budget,
// and otherwise comes from a fine histogram of probabilities (2^20 bins) whose
// counts can be summed across ranks; the histogram's error is bounded by the mass
// of pairs that fall in the same bin (counted as ties).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sparsetrain/util/auc.h"

namespace sparsetrain::train {

// Exact ROC-AUC (util/auc.h, shared with synth); ties count one half. Returns NaN when
// only one class is present or a score is NaN.
using util::exact_auc;

class AucHistogram {
 public:
  static constexpr size_t kBins = 1u << 20;
  AucHistogram() : pos_(kBins, 0), neg_(kBins, 0) {}
  void add(float prob, float label) {
    // Clamp first: NaN or out-of-range probabilities must not index outside the bins.
    const double p = prob >= 0.0f ? (prob <= 1.0f ? static_cast<double>(prob) : 1.0) : 0.0;
    size_t b = static_cast<size_t>(p * kBins);
    if (b >= kBins) b = kBins - 1;
    (label > 0.5f ? pos_ : neg_)[b] += 1;
  }
  double auc() const;
  // Raw counts, for summing across ranks.
  std::vector<uint64_t>& positives() { return pos_; }
  std::vector<uint64_t>& negatives() { return neg_; }

 private:
  std::vector<uint64_t> pos_, neg_;
};

// Accumulates scored rows; finish() gives AUC (exact if all rows were kept) and logloss.
class EvalAccumulator {
 public:
  // Keeps every score up to this many rows (8 bytes a row), then only the histogram.
  static constexpr uint64_t kKeptRows = uint64_t{1} << 22;
  explicit EvalAccumulator(uint64_t exact_limit = kKeptRows) : exact_limit_(exact_limit) {}
  void add(float prob, float label);
  uint64_t rows() const { return rows_; }
  double logloss_sum() const { return logloss_sum_; }
  bool exact() const { return rows_ <= exact_limit_; }
  const std::vector<float>& scores() const { return scores_; }
  const std::vector<float>& labels() const { return labels_; }
  AucHistogram& histogram() { return hist_; }
  double local_auc() const;

 private:
  uint64_t exact_limit_;
  uint64_t rows_ = 0;
  double logloss_sum_ = 0;
  std::vector<float> scores_, labels_;
  AucHistogram hist_;
};

}  // namespace sparsetrain::train
