// Finite-difference check of every gradient forward_backward produces.
//
// For each weight w of every block: L(w + e) and L(w - e), where L is the mean BCE
// of predict()'s probabilities, give a central difference that must match the
// analytic gradient. forward_backward runs with step 0, the step predict() seeds
// its LSH top-ups with, so both see the same active neurons.
//
// Two things make a central difference disagree with a correct gradient: a ReLU
// pre-activation crossing 0 inside [w - e, w + e] (a kink), and, in sparse layers,
// the perturbation changing which neurons the LSH query picks. Both are detected
// and the entry is skipped, and the tests bound how many were skipped:
//  * selection: the active set of every sample and layer (read from a one-row
//    forward_backward, whose sparse row list is exactly that sample's set) is
//    compared at w, w + e and w - e;
//  * kink: the one-sided differences (L(w+e) - L(w)) / e and (L(w) - L(w-e)) / e
//    disagree by far more than curvature and rounding allow.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

#include "model_test_util.h"

namespace sparsetrain::model {
namespace {

using testing::dense_gradient;
using testing::mean_bce;
using testing::single_row;
using testing::small_spec;
using testing::synthetic_batch;

constexpr uint64_t kBase = 1000;  // sample_base of the batch
constexpr double kEps = 1e-3;
// |fd - analytic| <= kRtol * max(|fd|, |analytic|) + kAtol. kAtol covers the float
// rounding of the loss: about 1e-7 / (2 * kEps) per entry.
constexpr double kRtol = 1e-2;
constexpr double kAtol = 2e-4;

// Per sample, per hidden layer: the sorted ids of the neurons it computes.
using ActiveSets = std::vector<std::vector<std::vector<uint32_t>>>;

ActiveSets active_sets(Network& net, const data::Batch& b) {
  ActiveSets sets(b.rows);
  std::vector<BlockGrad> grads;
  for (size_t s = 0; s < b.rows; ++s) {
    StepStats stats;
    net.forward_backward(single_row(b, s), 1.0f, 0, kBase + s, grads, stats);
    for (size_t k = 0; k < net.blocks().size(); ++k) {
      const std::string& name = net.blocks()[k].name;
      // With embed_sparsity < 1 the input table's gradient rows are the sample's ids x chosen blocks.
      if (name.rfind("fc", 0) == 0 || (name == "embed" && net.embed_sparse()))
        sets[s].push_back(grads[k].sparse_grad.rows);
    }
  }
  return sets;
}

struct CheckResult {
  size_t checked = 0, skipped_selection = 0, skipped_kink = 0, nonzero = 0;
  double worst = 0;  // max over checked entries of |fd - an| / (kRtol * max + kAtol); <= 1 passes
  std::string worst_where;
};

// Compares forward_backward's gradient (times `analytic_scale`, to show the check
// catches a wrong one) with central differences of every entry of every block.
CheckResult check_gradients(Network& net, const data::Batch& b, double analytic_scale = 1.0) {
  const bool sparse = net.embed_sparse() || std::any_of(net.spec().sparsity.begin(), net.spec().sparsity.end(),
                                                        [](double s) { return s < 1.0; });
  std::vector<BlockGrad> grads;
  StepStats stats;
  net.forward_backward(b, 1.0f / static_cast<float>(b.rows), 0, kBase, grads, stats);
  const double L0 = mean_bce(net, b, kBase);
  // The loss forward_backward reports is the one predict() gives.
  EXPECT_NEAR(stats.loss_sum / static_cast<double>(b.rows), L0, 1e-6);
  const ActiveSets base_sets = sparse ? active_sets(net, b) : ActiveSets{};

  CheckResult r;
  auto& blocks = net.blocks();
  for (size_t k = 0; k < blocks.size(); ++k) {
    optim::ParamBlock& blk = blocks[k];
    const std::vector<float> an = dense_gradient(blk, grads[k]);
    for (size_t i = 0; i < blk.size(); ++i) {
      const float orig = blk.w[i];
      const float wp = orig + static_cast<float>(kEps), wm = orig - static_cast<float>(kEps);
      blk.w[i] = wp;
      const double Lp = mean_bce(net, b, kBase);
      const bool same_p = !sparse || active_sets(net, b) == base_sets;
      blk.w[i] = wm;
      const double Lm = mean_bce(net, b, kBase);
      const bool same_m = !sparse || active_sets(net, b) == base_sets;
      blk.w[i] = orig;
      if (!same_p || !same_m) {
        ++r.skipped_selection;
        continue;
      }
      const double hp = static_cast<double>(wp) - orig, hm = orig - static_cast<double>(wm);
      const double right = (Lp - L0) / hp, left = (L0 - Lm) / hm;
      if (std::abs(right - left) > 0.05 * std::max(std::abs(right), std::abs(left)) + 4 * kAtol) {
        ++r.skipped_kink;
        continue;
      }
      const double fd = (Lp - Lm) / (hp + hm);
      const double a = analytic_scale * an[i];
      const double ratio = std::abs(fd - a) / (kRtol * std::max(std::abs(fd), std::abs(a)) + kAtol);
      ++r.checked;
      if (std::abs(a) > 10 * kAtol) ++r.nonzero;
      if (ratio > r.worst) {
        r.worst = ratio;
        char buf[160];
        std::snprintf(buf, sizeof buf, "%s[%zu] analytic %.6g fd %.6g", blk.name.c_str(), i, a, fd);
        r.worst_where = buf;
      }
    }
  }
  return r;
}

struct Case {
  const char* name;
  std::vector<int> hidden;
  std::vector<double> sparsity;
  bool dense_features;
  double embed_sparsity = 1.0;  // below 1: embed_dim 32, two blocks of kEmbedBlock outputs
};

NetworkSpec case_spec(const Case& c) {
  NetworkSpec s = small_spec(c.hidden, c.sparsity, c.dense_features);
  if (c.embed_sparsity < 1.0) {
    s.embed_dim = 2 * static_cast<int>(kEmbedBlock);
    s.embed_sparsity = c.embed_sparsity;
  }
  return s;
}

// Names the case in test listings instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class GradientCheck : public ::testing::TestWithParam<Case> {
  testing::ScalarOneThread scalar_one_thread_;
};

// The production init keeps the input table small (sum of rows ~0.1 std), which puts
// many first-layer pre-activations within eps of 0 where central differences straddle
// ReLU kinks. Checking gradients at a point with unit-scale pre-activations keeps the
// finite differences well conditioned; the formulas checked do not depend on the point.
void spread_input_table(Network& net) {
  for (auto& blk : net.blocks())
    if (blk.name == "embed")
      for (float& w : blk.w) w *= 10.0f;
}

TEST_P(GradientCheck, EveryBlockMatchesCentralDifferences) {
  const Case& c = GetParam();
  Network net(case_spec(c));
  spread_input_table(net);
  const data::Batch b = synthetic_batch(6, net.spec().input_dim, c.dense_features, 11);
  const CheckResult r = check_gradients(net, b);
  std::printf(
      "[ %s ] checked %zu (%zu with |grad| > %.0e), skipped: %zu selection changes, %zu kinks; worst %.3f: %s\n",
      c.name, r.checked, r.nonzero, 10 * kAtol, r.skipped_selection, r.skipped_kink, r.worst, r.worst_where.c_str());
  EXPECT_LE(r.worst, 1.0) << r.worst_where;
  size_t total = 0;
  for (const auto& blk : net.blocks()) total += blk.size();
  EXPECT_EQ(r.checked + r.skipped_selection + r.skipped_kink, total);
  // Skips must stay rare, or the check would prove little.
  EXPECT_LE(r.skipped_selection + r.skipped_kink, total / 50) << "too many entries skipped";
  // Enough non-trivial gradients that a wrong formula could not hide among zeros.
  EXPECT_GE(r.nonzero, total / 5);
}

// The same check must reject a gradient that is off by a few percent.
TEST_P(GradientCheck, RejectsAGradientOffByThreePercent) {
  const Case& c = GetParam();
  Network net(case_spec(c));
  spread_input_table(net);
  const data::Batch b = synthetic_batch(6, net.spec().input_dim, c.dense_features, 11);
  EXPECT_GT(check_gradients(net, b, 1.03).worst, 1.0);
}

// The selection guard above is only worth something if the sparse cases really pick
// subsets that depend on the input: check that, and that active_sets() notices when
// a perturbation moves the selection.
TEST(GradientCheckGuard, SparseCasesSelectInputDependentSubsets) {
  testing::ScalarOneThread scalar_one_thread;
  Network net(small_spec({16, 12}, {0.5, 0.5}, true));
  const data::Batch b = synthetic_batch(6, net.spec().input_dim, true, 11);
  const ActiveSets sets = active_sets(net, b);
  bool samples_differ = false;
  for (size_t s = 0; s < b.rows; ++s) {
    ASSERT_EQ(sets[s].size(), 2u);
    EXPECT_EQ(sets[s][0].size(), 8u);
    EXPECT_EQ(sets[s][1].size(), 6u);
    samples_differ = samples_differ || sets[s] != sets[0];
  }
  EXPECT_TRUE(samples_differ);
  auto& bias = net.blocks()[1];
  ASSERT_EQ(bias.name, "embed_bias");
  for (size_t j = 0; j < bias.size(); ++j) bias.w[j] += (j % 2 ? 1.0f : -1.0f);
  EXPECT_NE(active_sets(net, b), sets);
}

INSTANTIATE_TEST_SUITE_P(
    Nets, GradientCheck,
    ::testing::Values(Case{"dense_h16_dense_features", {16}, {1.0}, true},
                      Case{"dense_h16_no_dense_features", {16}, {1.0}, false},
                      Case{"dense_h16_12", {16, 12}, {1.0, 1.0}, true}, Case{"no_hidden", {}, {}, true},
                      Case{"sparse_h16", {16}, {0.5}, true}, Case{"sparse_h16_12", {16, 12}, {0.5, 0.5}, true},
                      Case{"sparse_h16_12_no_dense_features", {16, 12}, {0.5, 0.5}, false},
                      Case{"sparse_then_dense_h16_12", {16, 12}, {0.5, 1.0}, true},
                      Case{"dense_then_sparse_h16_12", {16, 12}, {1.0, 0.5}, true},
                      // The sparse-input layer computing one of its two blocks per sample.
                      Case{"embed_sparse_no_hidden", {}, {}, true, 0.5},
                      Case{"embed_sparse_h16", {16}, {1.0}, true, 0.5},
                      Case{"embed_sparse_then_sparse_h16_no_dense_features", {16}, {0.5}, false, 0.5}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace sparsetrain::model
