// What the last forward selected (Network::selection, selected_activations,
// exact_preactivations), the view model/lsh_recall.h measures the LSH selection with:
//  * the exact pre-activations of every neuron equal a plain double-precision loop over the
//    layer's weights and the input the sample actually had;
//  * for every selected neuron, their ReLU is bit for bit the forward's output (same kernels);
//  * sparsity 1 selects every neuron and reproduces the click probabilities.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "model_test_util.h"
#include "sparsetrain/kernels/kernels.h"

namespace sparsetrain::model {
namespace {

using testing::block;
using testing::kDense;
using testing::kIds;
using testing::small_spec;
using testing::synthetic_batch;

// The input hidden layer l had for sample s in the last forward, dense, in double: the
// sparse-input layer recomputed from the weights (l = 0), else layer l-1's selected outputs
// at their neuron ids and 0 elsewhere.
std::vector<double> layer_input(const Network& net, const data::Batch& b, size_t l, size_t s) {
  const NetworkSpec& spec = net.spec();
  if (l > 0) {
    std::vector<double> x(static_cast<size_t>(spec.hidden[l - 1]), 0.0);
    const auto ids = net.selection(l - 1, s);
    const auto act = net.selected_activations(l - 1, s);
    for (size_t k = 0; k < ids.size(); ++k) x[ids[k]] = act[k];
    return x;
  }
  const size_t D = static_cast<size_t>(spec.embed_dim);
  const auto& E = block(net, "embed");
  std::vector<double> x(D);
  for (size_t j = 0; j < D; ++j) x[j] = block(net, "embed_bias").w[j];
  for (int k = 0; k < kIds; ++k)
    for (size_t j = 0; j < D; ++j) x[j] += E.w[b.ids[s * kIds + k] * D + j];
  if (spec.dense_features)
    for (int i = 0; i < kDense; ++i)
      for (size_t j = 0; j < D; ++j)
        x[j] += static_cast<double>(b.dense[s * kDense + i]) * block(net, "dense_proj").w[i * D + j];
  if (spec.embed_sparsity < 1.0) {  // only the blocks of kEmbedBlock with the largest sums are computed
    const size_t nb = D / kEmbedBlock;
    const size_t A = static_cast<size_t>(std::ceil(spec.embed_sparsity * static_cast<double>(nb)));
    std::vector<std::pair<double, size_t>> score(nb);  // (-sum, block): ascending = largest sum first, ties low
    for (size_t c = 0; c < nb; ++c) {
      score[c] = {0.0, c};
      for (size_t j = c * kEmbedBlock; j < (c + 1) * kEmbedBlock; ++j) score[c].first -= x[j];
    }
    std::sort(score.begin(), score.end());
    for (size_t k = A; k < nb; ++k)
      std::fill_n(x.begin() + static_cast<long>(score[k].second * kEmbedBlock), kEmbedBlock, 0.0);
  }
  for (double& v : x) v = v > 0 ? v : 0.0;
  return x;
}

// w_n . x + b_n for every neuron of hidden layer l, in double.
std::vector<double> reference_preactivations(const Network& net, size_t l, const std::vector<double>& x) {
  const auto& W = block(net, "fc" + std::to_string(l + 1));
  std::vector<double> z(W.rows);
  for (size_t n = 0; n < W.rows; ++n) {
    double v = W.w[n * W.cols + x.size()];
    for (size_t j = 0; j < x.size(); ++j) v += static_cast<double>(W.w[n * W.cols + j]) * x[j];
    z[n] = v;
  }
  return z;
}

// Biases drawn in +-0.3 for the hidden layers (they start at 0), so the checks see them.
void give_biases(Network& net) {
  util::Rng rng(3);
  for (auto& b : net.blocks())
    if (b.name.rfind("fc", 0) == 0)
      for (size_t n = 0; n < b.rows; ++n) b.w[n * b.cols + b.cols - 1] = static_cast<float>(0.6 * rng.uniform() - 0.3);
}

// For every sample and hidden layer of the last forward over b: the selection is
// active_per_layer()[l] distinct ids, the exact pre-activations match the reference for
// every neuron, and their ReLU at the selected neurons is exactly the forward's output.
void check_last_forward(const Network& net, const data::Batch& b) {
  ASSERT_EQ(net.last_batch_rows(), b.rows);
  std::vector<float> z;
  for (size_t l = 0; l < net.spec().hidden.size(); ++l) {
    const size_t width = static_cast<size_t>(net.spec().hidden[l]);
    for (size_t s = 0; s < b.rows; ++s) {
      SCOPED_TRACE("layer " + std::to_string(l) + " sample " + std::to_string(s));
      const auto ids = net.selection(l, s);
      const auto act = net.selected_activations(l, s);
      ASSERT_EQ(ids.size(), net.active_per_layer()[l]);
      ASSERT_EQ(act.size(), ids.size());
      std::vector<bool> seen(width, false);
      for (uint32_t n : ids) {
        ASSERT_LT(n, width);
        EXPECT_FALSE(seen[n]) << "neuron " << n << " selected twice";
        seen[n] = true;
      }
      net.exact_preactivations(l, s, z);
      ASSERT_EQ(z.size(), width);
      const std::vector<double> ref = reference_preactivations(net, l, layer_input(net, b, l, s));
      for (size_t n = 0; n < width; ++n) EXPECT_NEAR(z[n], ref[n], 1e-5 + 1e-5 * std::abs(ref[n])) << "neuron " << n;
      for (size_t k = 0; k < ids.size(); ++k) {
        const float relu = z[ids[k]] > 0.0f ? z[ids[k]] : 0.0f;
        EXPECT_EQ(relu, act[k]) << "selected neuron " << ids[k];
      }
    }
  }
}

TEST(LastForward, DenseLayersSelectEveryNeuronAndReproduceTheOutput) {
  testing::ScalarOneThread scalar_one_thread;
  Network net(small_spec({16, 12}, {1.0, 1.0}, true));
  give_biases(net);
  const data::Batch b = synthetic_batch(6, net.spec().input_dim, true, 5);
  std::vector<float> probs(b.rows);
  net.predict(b, 0, probs.data());
  check_last_forward(net, b);
  std::vector<uint32_t> all(16);
  std::iota(all.begin(), all.end(), 0u);
  EXPECT_EQ(std::vector<uint32_t>(net.selection(0, 3).begin(), net.selection(0, 3).end()), all);
  // The output from the last layer's exact pre-activations gives the forward's probabilities.
  const auto& O = block(net, "out");
  std::vector<float> z;
  for (size_t s = 0; s < b.rows; ++s) {
    net.exact_preactivations(1, s, z);
    double logit = O.w[z.size()];
    for (size_t n = 0; n < z.size(); ++n) logit += static_cast<double>(O.w[n]) * (z[n] > 0 ? z[n] : 0.0f);
    EXPECT_NEAR(probs[s], 1.0 / (1.0 + std::exp(-logit)), 1e-6) << "sample " << s;
  }
}

// Sparse layers after a dense input (h0, a dense layer) and after a sparse one, on the scalar
// kernels, and on the table the CPU picks with 2 threads (AVX-512 where there is one), after
// predict and after infer.
TEST(LastForward, SelectedNeuronsMatchTheForwardBitForBit) {
  for (const bool scalar : {true, false}) {
    const int threads = omp_get_max_threads();
    kernels::select(scalar ? kernels::KernelChoice::Scalar : kernels::KernelChoice::Auto);
    omp_set_num_threads(scalar ? 1 : 2);
    for (const auto& [hidden, sparsity] :
         {std::pair<std::vector<int>, std::vector<double>>{{32, 24, 16}, {0.25, 0.5, 1.0}},
          std::pair<std::vector<int>, std::vector<double>>{{20, 40}, {1.0, 0.2}},
          std::pair<std::vector<int>, std::vector<double>>{{24}, {0.5}}}) {
      SCOPED_TRACE(std::string(scalar ? "scalar" : "auto") + " kernels, " + std::to_string(hidden.size()) + " layers");
      NetworkSpec spec = small_spec(hidden, sparsity, true, 11);
      if (hidden.size() == 1) {  // after a sparse-input layer computing 2 of its 4 blocks
        spec.embed_dim = 4 * static_cast<int>(kEmbedBlock);
        spec.embed_sparsity = 0.5;
      }
      Network net(spec);
      give_biases(net);
      const data::Batch b = synthetic_batch(9, net.spec().input_dim, true, 6);
      std::vector<float> probs(b.rows);
      net.predict(b, 100, probs.data());
      check_last_forward(net, b);
      net.infer(b, probs.data());
      check_last_forward(net, b);
      bool sparse_layer = false;  // the case must have one: it is what is being tested
      for (size_t l = 0; l < hidden.size(); ++l)
        sparse_layer = sparse_layer || net.selection(l, 0).size() < static_cast<size_t>(hidden[l]);
      EXPECT_TRUE(sparse_layer);
    }
    omp_set_num_threads(threads);
  }
  kernels::select(kernels::KernelChoice::Auto);
}

TEST(LastForward, OutOfRangeIsRefused) {
  testing::ScalarOneThread scalar_one_thread;
  Network net(small_spec({16}, {0.5}, true));
  std::vector<float> z;
  EXPECT_EQ(net.last_batch_rows(), 0u);
  EXPECT_THROW(net.selection(0, 0), std::out_of_range);  // no forward yet
  const data::Batch b = synthetic_batch(3, net.spec().input_dim, true, 5);
  std::vector<float> probs(b.rows);
  net.predict(b, 0, probs.data());
  EXPECT_NO_THROW(net.selection(0, 2));
  EXPECT_THROW(net.selection(0, 3), std::out_of_range);
  EXPECT_THROW(net.selected_activations(1, 0), std::out_of_range);
  EXPECT_THROW(net.exact_preactivations(1, 0, z), std::out_of_range);
  EXPECT_THROW(net.exact_preactivations(0, 3, z), std::out_of_range);
}

}  // namespace
}  // namespace sparsetrain::model
