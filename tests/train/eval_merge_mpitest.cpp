// Under a real mpirun: evaluation's merge over ranks (merge_eval). Every rank scores its own
// slice of one set of 20,000 (score, label) pairs; the merged result must be what one process
// computes on all of them: the exact AUC bit for bit while every rank keeps its scores, and the
// summed histograms' AUC (within 1e-4 of exact, flagged as not exact) once a rank's
// accumulator has switched to its histogram.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "../common/mpi_test_main.h"
#include "sparsetrain/train/trainer.h"
#include "sparsetrain/util/random.h"

namespace sparsetrain::train {
namespace {

struct Pairs {
  std::vector<float> scores, labels;
};

// The same pairs on every rank: a score that predicts its label a little, ties included.
Pairs all_pairs() {
  Pairs p;
  util::Rng rng(17);
  for (int i = 0; i < 20000; ++i) {
    const float label = rng.uniform() < 0.3 ? 1.0f : 0.0f;
    float s = static_cast<float>(0.3 * label + 0.7 * rng.uniform());
    if (i % 50 == 0) s = 0.5f;  // ties
    p.scores.push_back(s);
    p.labels.push_back(label);
  }
  return p;
}

// Rank r's accumulator over the pairs i with i % P == r, keeping at most `exact_limit` scores.
EvalAccumulator my_slice(const Pairs& p, uint64_t exact_limit, const collective::Comm& comm) {
  EvalAccumulator acc(exact_limit);
  for (size_t i = static_cast<size_t>(comm.rank()); i < p.scores.size(); i += static_cast<size_t>(comm.size()))
    acc.add(p.scores[i], p.labels[i]);
  return acc;
}

double logloss_of(const Pairs& p) {
  EvalAccumulator one;
  for (size_t i = 0; i < p.scores.size(); ++i) one.add(p.scores[i], p.labels[i]);
  return one.logloss_sum() / static_cast<double>(p.scores.size());
}

TEST(MergeEval, ExactAucOfAllRanksScores) {
  collective::Comm& comm = collective::Comm::world();
  const Pairs p = all_pairs();
  EvalAccumulator acc = my_slice(p, EvalAccumulator::kKeptRows, comm);
  const EvalResult r = merge_eval(acc, comm);
  EXPECT_TRUE(r.exact_auc);
  EXPECT_EQ(r.rows, p.scores.size());
  EXPECT_EQ(r.auc, exact_auc(p.scores, p.labels));  // the same scores, sorted: the same bits
  EXPECT_NEAR(r.logloss, logloss_of(p), 1e-12);
}

TEST(MergeEval, SummedHistogramsOnceARankStopsKeepingScores) {
  collective::Comm& comm = collective::Comm::world();
  const Pairs p = all_pairs();
  // Rank 0 keeps only 100 scores, so it holds its histogram only: every rank must follow.
  EvalAccumulator acc = my_slice(p, comm.is_root() ? 100 : EvalAccumulator::kKeptRows, comm);
  const EvalResult r = merge_eval(acc, comm);
  EXPECT_FALSE(r.exact_auc);
  EXPECT_EQ(r.rows, p.scores.size());
  const double exact = exact_auc(p.scores, p.labels);
  EXPECT_NEAR(r.auc, exact, 1e-4);
  EXPECT_GT(exact, 0.6);  // the test means something: the scores do rank the labels
  // The same on every rank.
  double high = r.auc, minus_low = -r.auc;
  comm.allreduce_max(&high, 1);
  comm.allreduce_max(&minus_low, 1);
  EXPECT_EQ(high, r.auc);
  EXPECT_EQ(-minus_low, r.auc);
}

}  // namespace
}  // namespace sparsetrain::train

int main(int argc, char** argv) { return sparsetrain::testing::run_mpi_tests(argc, argv, "eval_merge_mpitest"); }
