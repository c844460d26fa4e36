// ROC-AUC (the histogram, against the exact one: tests/util/auc_test.cpp) and the
// evaluation accumulator on hand-checked cases.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sparsetrain/train/metrics.h"
#include "sparsetrain/util/random.h"

namespace sparsetrain::train {
namespace {

TEST(AucHistogram, NanWhenOneClass) {
  AucHistogram h;
  h.add(0.3f, 1);
  h.add(0.6f, 1);
  EXPECT_TRUE(std::isnan(h.auc()));
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
  h.add(1.0f, 1);  // exactly 1: last bin, not past the end
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
