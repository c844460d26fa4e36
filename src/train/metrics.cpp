#include "sparsetrain/train/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sparsetrain::train {

double AucHistogram::auc() const {
  // Walk bins from low to high score: each positive beats all negatives in lower bins
  // and ties (half) with the negatives in its own bin.
  double neg_below = 0, total_pos = 0, total_neg = 0, wins = 0;
  for (size_t b = 0; b < kBins; ++b) {
    const double p = static_cast<double>(pos_[b]), q = static_cast<double>(neg_[b]);
    wins += p * (neg_below + 0.5 * q);
    neg_below += q;
    total_pos += p;
    total_neg += q;
  }
  if (total_pos == 0 || total_neg == 0) return std::numeric_limits<double>::quiet_NaN();
  return wins / (total_pos * total_neg);
}

void EvalAccumulator::add(float prob, float label) {
  const double q = std::clamp(static_cast<double>(prob), 1e-7, 1.0 - 1e-7);
  logloss_sum_ += label > 0.5f ? -std::log(q) : -std::log(1.0 - q);
  ++rows_;
  hist_.add(prob, label);
  if (rows_ <= exact_limit_) {
    scores_.push_back(prob);
    labels_.push_back(label);
  } else if (!scores_.empty()) {
    scores_.clear();
    scores_.shrink_to_fit();
    labels_.clear();
    labels_.shrink_to_fit();
  }
}

double EvalAccumulator::local_auc() const { return exact() ? exact_auc(scores_, labels_) : hist_.auc(); }

}  // namespace sparsetrain::train
