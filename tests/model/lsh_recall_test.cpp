// The recall of the LSH selection against the exact top-k (model/lsh_recall.h):
// sample_recall on hand-made cases (ties, no positive mass, bad input), and the
// RecallMeter's means over a network's batches (1 at sparsity 1, in [0, 1] and below 1 for
// an untrained sparse network).
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "model_test_util.h"
#include "sparsetrain/model/lsh_recall.h"

namespace sparsetrain::model {
namespace {

using testing::small_spec;
using testing::synthetic_batch;

TEST(SampleRecall, HandMadeCases) {
  const std::vector<float> z = {5, 4, 3, 2, 1, 0, -1};  // total positive mass 15
  // Top 2 = {0, 1} (mass 9); {0, 2} finds one of them and 5 + 3 of the mass.
  SampleRecall r = sample_recall(std::vector<uint32_t>{0, 2}, z);
  EXPECT_DOUBLE_EQ(r.recall, 0.5);
  EXPECT_DOUBLE_EQ(r.mass_captured, 8.0 / 9.0);
  EXPECT_DOUBLE_EQ(r.random_mass_captured, 2.0 / 7.0 * 15.0 / 9.0);
  r = sample_recall(std::vector<uint32_t>{1, 0}, z);  // order does not matter
  EXPECT_DOUBLE_EQ(r.recall, 1.0);
  EXPECT_DOUBLE_EQ(r.mass_captured, 1.0);
  r = sample_recall(std::vector<uint32_t>{6, 5, 4}, z);  // the 3 smallest: top 3 = {0, 1, 2}
  EXPECT_DOUBLE_EQ(r.recall, 0.0);
  EXPECT_DOUBLE_EQ(r.mass_captured, 1.0 / 12.0);
  r = sample_recall(std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6}, z);  // k = width
  EXPECT_DOUBLE_EQ(r.recall, 1.0);
  EXPECT_DOUBLE_EQ(r.random_mass_captured, 1.0);
}

TEST(SampleRecall, TiesAndNoPositiveMass) {
  // Three tied at the top, k = 2: any two of them are a top 2, a third tied one adds nothing.
  const std::vector<float> tied = {1, 1, 1, 0};
  EXPECT_DOUBLE_EQ(sample_recall(std::vector<uint32_t>{2, 0}, tied).recall, 1.0);
  EXPECT_DOUBLE_EQ(sample_recall(std::vector<uint32_t>{2, 3}, tied).recall, 0.5);
  EXPECT_DOUBLE_EQ(sample_recall(std::vector<uint32_t>{2, 3}, tied).mass_captured, 0.5);
  // One place left at the tied value 1 after the 2 above it: two tied picks fill only that one.
  EXPECT_DOUBLE_EQ(sample_recall(std::vector<uint32_t>{1, 2}, std::vector<float>{2, 1, 1, 0}).recall, 0.5);
  // Nothing positive: nothing to capture, whatever is picked (the recall still counts ranks).
  const std::vector<float> negative = {-3, -1, -2};
  const SampleRecall r = sample_recall(std::vector<uint32_t>{0}, negative);
  EXPECT_DOUBLE_EQ(r.recall, 0.0);
  EXPECT_DOUBLE_EQ(r.mass_captured, 1.0);
  EXPECT_DOUBLE_EQ(r.random_mass_captured, 1.0);
  EXPECT_DOUBLE_EQ(sample_recall(std::vector<uint32_t>{1}, negative).recall, 1.0);
}

TEST(SampleRecall, BadInputIsRefused) {
  const std::vector<float> z = {1, 2, 3};
  EXPECT_THROW(sample_recall(std::vector<uint32_t>{}, z), std::invalid_argument);
  EXPECT_THROW(sample_recall(std::vector<uint32_t>{0, 1, 2, 0}, z), std::invalid_argument);
  EXPECT_THROW(sample_recall(std::vector<uint32_t>{3}, z), std::invalid_argument);
  EXPECT_THROW(sample_recall(std::vector<uint32_t>{1, 1}, z), std::invalid_argument);
  EXPECT_THROW(sample_recall(std::vector<uint32_t>{0}, std::vector<float>{1, NAN}), std::invalid_argument);
}

// The meter's means are the means of sample_recall over the batches it was given.
TEST(RecallMeter, MeansOverBatchesAndLayers) {
  testing::ScalarOneThread scalar_one_thread;
  // Sparsity 1: the selection is the whole layer, recall and mass 1.
  Network dense(small_spec({16, 12}, {1.0, 1.0}, true));
  RecallMeter all(dense);
  std::vector<float> probs(8);
  dense.infer(synthetic_batch(8, dense.spec().input_dim, true, 5), probs.data());
  all.add_last_batch(dense);
  for (const LayerRecall& r : all.layers()) {
    EXPECT_EQ(r.k, r.width);
    EXPECT_EQ(r.samples, 8u);
    EXPECT_DOUBLE_EQ(r.recall, 1.0);
    EXPECT_DOUBLE_EQ(r.random_recall, 1.0);
    EXPECT_DOUBLE_EQ(r.mass_captured, 1.0);
  }

  Network net(small_spec({32, 24}, {0.25, 0.5}, true, 11));
  RecallMeter meter(net);
  std::vector<std::vector<double>> recall_sum(2, std::vector<double>(2, 0.0));  // [layer][recall, mass]
  std::vector<float> z;
  for (uint64_t seed : {6, 7}) {
    const data::Batch b = synthetic_batch(seed == 6 ? 9 : 5, net.spec().input_dim, true, seed);
    probs.resize(b.rows);
    net.infer(b, probs.data());
    meter.add_last_batch(net);
    for (size_t l = 0; l < 2; ++l)
      for (size_t s = 0; s < b.rows; ++s) {
        net.exact_preactivations(l, s, z);
        const SampleRecall r = sample_recall(net.selection(l, s), z);
        recall_sum[l][0] += r.recall;
        recall_sum[l][1] += r.mass_captured;
      }
  }
  const std::vector<LayerRecall> layers = meter.layers();
  ASSERT_EQ(layers.size(), 2u);
  bool below_one = false;
  for (size_t l = 0; l < 2; ++l) {
    const LayerRecall& r = layers[l];
    EXPECT_EQ(r.layer, l + 1);
    EXPECT_EQ(r.k, net.active_per_layer()[l]);
    EXPECT_EQ(r.width, static_cast<size_t>(net.spec().hidden[l]));
    EXPECT_EQ(r.samples, 14u);
    EXPECT_DOUBLE_EQ(r.random_recall, static_cast<double>(r.k) / static_cast<double>(r.width));
    EXPECT_NEAR(r.recall, recall_sum[l][0] / 14.0, 1e-12);
    EXPECT_NEAR(r.mass_captured, recall_sum[l][1] / 14.0, 1e-12);
    for (double v : {r.recall, r.mass_captured, r.random_mass_captured}) {
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
    }
    below_one = below_one || r.recall < 1.0;
  }
  // An untrained net's LSH picks are not its exact top-k: recall 1 here would mean the
  // selection is being compared with itself.
  EXPECT_TRUE(below_one);
  EXPECT_THROW(meter.add_last_batch(dense), std::invalid_argument);  // another network's layers
}

}  // namespace
}  // namespace sparsetrain::model
