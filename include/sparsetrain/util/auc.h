#pragma once
// Exact ROC-AUC: one definition for evaluation (train/metrics.h) and for the synthetic
// data's best reachable AUC (synth/synth.h).
#include <vector>

namespace sparsetrain::util {

// Exact ROC-AUC of `scores` for binary `labels` (label > 0.5 is positive): sort by score,
// tied scores count one half (average ranks, Mann-Whitney U). Returns NaN when only one
// class is present or a score is NaN; throws std::invalid_argument when the lengths differ.
double exact_auc(const std::vector<float>& scores, const std::vector<float>& labels);

}  // namespace sparsetrain::util
