#include "sparsetrain/util/auc.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace sparsetrain::util {

double exact_auc(const std::vector<float>& scores, const std::vector<float>& labels) {
  const size_t n = scores.size();
  if (labels.size() != n) throw std::invalid_argument("exact_auc: scores and labels differ in length");
  // A NaN score (a diverged model) has no rank: the AUC is undefined. Checked first
  // because NaN breaks the sort's ordering and the tie scan below would never advance.
  if (std::any_of(scores.begin(), scores.end(), [](float s) { return std::isnan(s); }))
    return std::numeric_limits<double>::quiet_NaN();
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney U: sum of the (tie-averaged) ranks of the positives.
  double rank_sum = 0, pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double avg_rank = (static_cast<double>(i) + static_cast<double>(j - 1)) / 2.0 + 1.0;
    for (size_t k = i; k < j; ++k)
      if (labels[order[k]] > 0.5f) {
        rank_sum += avg_rank;
        pos += 1;
      }
    i = j;
  }
  const double neg = static_cast<double>(n) - pos;
  if (pos == 0 || neg == 0) return std::numeric_limits<double>::quiet_NaN();
  return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
}

}  // namespace sparsetrain::util
