// Exact ROC-AUC on hand-checked cases and against a pairwise count.
#include "sparsetrain/util/auc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "sparsetrain/util/random.h"

namespace sparsetrain::util {
namespace {

TEST(ExactAuc, PerfectReversedAndAllTies) {
  EXPECT_DOUBLE_EQ(exact_auc({0.1f, 0.2f, 0.8f, 0.9f}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(exact_auc({0.9f, 0.8f, 0.2f, 0.1f}, {0, 0, 1, 1}), 0.0);
  EXPECT_DOUBLE_EQ(exact_auc({0.5f, 0.5f, 0.5f, 0.5f, 0.5f}, {0, 1, 0, 1, 1}), 0.5);
}

TEST(ExactAuc, HandComputedCaseWithTies) {
  // Positives score 0.9, 0.5, 0.3; negatives 0.5, 0.2, 0.1, 0.3.
  // Pairs (pos, neg) won: 0.9 beats all 4; 0.5 beats 0.2, 0.1, 0.3 and ties 0.5
  // (3.5); 0.3 beats 0.2, 0.1 and ties 0.3 (2.5). AUC = (4 + 3.5 + 2.5) / 12.
  const std::vector<float> scores = {0.5f, 0.9f, 0.2f, 0.5f, 0.1f, 0.3f, 0.3f};
  const std::vector<float> labels = {0, 1, 0, 1, 0, 1, 0};
  EXPECT_DOUBLE_EQ(exact_auc(scores, labels), 10.0 / 12.0);
  // Input order does not matter.
  EXPECT_DOUBLE_EQ(exact_auc({0.3f, 0.1f, 0.5f, 0.9f, 0.3f, 0.2f, 0.5f}, {0, 0, 1, 1, 1, 0, 0}), 10.0 / 12.0);
}

TEST(ExactAuc, NanWhenOneClass) {
  EXPECT_TRUE(std::isnan(exact_auc({0.1f, 0.7f}, {1, 1})));
  EXPECT_TRUE(std::isnan(exact_auc({0.1f, 0.7f}, {0, 0})));
  EXPECT_TRUE(std::isnan(exact_auc({}, {})));
}

TEST(ExactAuc, NanScoreGivesNanAndMismatchedLengthsThrow) {
  // A diverged model's NaN used to send the tie scan into an endless loop.
  EXPECT_TRUE(std::isnan(exact_auc({0.2f, NAN, 0.7f}, {0, 1, 1})));
  EXPECT_THROW(exact_auc({0.2f, 0.3f}, {0}), std::invalid_argument);
}

// A pairwise O(n^2) count, for a random check of the rank formula.
double brute_force_auc(const std::vector<float>& s, const std::vector<float>& y) {
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = 0; j < s.size(); ++j)
      if (y[i] > 0.5f && y[j] <= 0.5f) {
        pairs += 1;
        wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
      }
  return wins / pairs;
}

TEST(ExactAuc, MatchesPairwiseCountWithManyTies) {
  util::Rng rng(3);
  std::vector<float> s(700), y(700);
  for (size_t i = 0; i < s.size(); ++i) {
    s[i] = static_cast<float>(rng.below(20)) / 20.0f;  // 20 distinct values: many ties
    y[i] = rng.uniform() < 0.2 + 0.6 * s[i] ? 1.0f : 0.0f;
  }
  EXPECT_NEAR(exact_auc(s, y), brute_force_auc(s, y), 1e-12);
}

}  // namespace
}  // namespace sparsetrain::util
