// ROC-AUC (exact and histogram) and the evaluation accumulator on hand-checked cases.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "sparsetrain/train/metrics.h"
#include "sparsetrain/util/random.h"

namespace sparsetrain::train {
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
  AucHistogram h;
  h.add(0.3f, 1);
  h.add(0.6f, 1);
  EXPECT_TRUE(std::isnan(h.auc()));
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

TEST(AucHistogram, WithinOneTenThousandthOfExactOn100kScores) {
  util::Rng rng(7);
  std::vector<float> s(100000), y(100000);
  AucHistogram h;
  for (size_t i = 0; i < s.size(); ++i) {
    // Click-like: probabilities skewed low, labels drawn from them, so AUC ~ 0.7.
    const double u = rng.uniform();
    s[i] = static_cast<float>(u * u);
    y[i] = rng.uniform() < s[i] ? 1.0f : 0.0f;
    h.add(s[i], y[i]);
  }
  const double exact = exact_auc(s, y);
  EXPECT_GT(exact, 0.6);
  EXPECT_NEAR(h.auc(), exact, 1e-4);
}

TEST(AucHistogram, EdgeProbabilitiesLandInEndBins) {
  AucHistogram h;
  h.add(1.0f, 1);   // exactly 1: last bin, not past the end
  h.add(0.0f, 0);
  EXPECT_DOUBLE_EQ(h.auc(), 1.0);
  EXPECT_EQ(h.positives()[AucHistogram::kBins - 1], 1u);
  EXPECT_EQ(h.negatives()[0], 1u);
}

TEST(EvalAccumulator, LoglossAndSwitchToHistogram) {
  EvalAccumulator acc(3);
  acc.add(0.8f, 1);
  acc.add(0.3f, 0);
  acc.add(0.4f, 1);
  EXPECT_TRUE(acc.exact());
  EXPECT_NEAR(acc.logloss_sum(), -std::log(0.8) - std::log(0.7) - std::log(0.4), 1e-6);
  EXPECT_DOUBLE_EQ(acc.local_auc(), 1.0);
  acc.add(0.5f, 0);  // a fourth row exceeds the exact budget
  EXPECT_FALSE(acc.exact());
  EXPECT_TRUE(acc.scores().empty());
  EXPECT_EQ(acc.rows(), 4u);
  // Positives 0.8, 0.4; negatives 0.3, 0.5: 0.8 wins both, 0.4 wins one.
  EXPECT_DOUBLE_EQ(acc.local_auc(), 0.75);
  // Probabilities of exactly 0 or 1 are clamped, not infinite.
  EvalAccumulator c;
  c.add(0.0f, 1);
  EXPECT_TRUE(std::isfinite(c.logloss_sum()));
  EXPECT_NEAR(c.logloss_sum(), -std::log(1e-7), 1e-9);
}

}  // namespace
}  // namespace sparsetrain::train
