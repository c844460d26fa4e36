// model.embed_sparsity < 1: the sparse-input layer computes only the blocks of kEmbedBlock
// outputs with the largest summed pre-activation. Checked here against the dense layer
// (embed_sparsity 1) with the same weights restricted to the chosen outputs, against an
// independent ranking of the blocks, across thread counts, and across a refresh of the
// block sums. The finite-difference check of its gradients is in gradient_test.cpp.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "model_test_util.h"
#include "sparsetrain/optim/optimizer.h"

namespace sparsetrain::model {
namespace {

using testing::dense_gradient;
using testing::single_row;
using testing::synthetic_batch;

constexpr size_t kBlocks = 4;  // embed_dim 64

NetworkSpec spec(std::vector<int> hidden, double embed_sparsity, bool dense_features = true) {
  NetworkSpec s = testing::small_spec(hidden, std::vector<double>(hidden.size(), 1.0), dense_features);
  s.input_dim = 200;
  s.embed_dim = static_cast<int>(kBlocks * kEmbedBlock);
  s.embed_sparsity = embed_sparsity;
  return s;
}

// The chosen blocks of a one-row batch: its embed gradient rows are id * blocks + block.
std::set<uint32_t> chosen_blocks(const BlockGrad& embed_grad) {
  std::set<uint32_t> out;
  for (uint32_t r : embed_grad.sparse_grad.rows) out.insert(r % kBlocks);
  return out;
}

void expect_close(float sparse, float dense, const char* what, size_t i) {
  EXPECT_NEAR(sparse, dense, 1e-6 + 1e-5 * std::abs(dense)) << what << "[" << i << "]";
}

class RestrictedDense : public ::testing::TestWithParam<std::vector<int>> {
  testing::ScalarOneThread scalar_one_thread_;
};

// The sparse layer's outputs, loss and gradients are those of the dense layer with the
// same weights whose unchosen outputs are cut off (their outgoing weights zeroed).
TEST_P(RestrictedDense, GradientsEqualTheDenseLayerRestrictedToTheChosenOutputs) {
  const std::vector<int> hidden = GetParam();
  Network sparse(spec(hidden, 0.5));
  const data::Batch batch = synthetic_batch(8, 200, true, 3);
  size_t compared = 0;
  for (size_t s = 0; s < batch.rows; ++s) {
    const data::Batch one = single_row(batch, s);
    std::vector<BlockGrad> gs, gd;
    StepStats st_s, st_d;
    sparse.forward_backward(one, 1.0f, 0, s, gs, st_s);
    const std::set<uint32_t> chosen = chosen_blocks(gs[sparse.embed_block()]);
    ASSERT_EQ(chosen.size(), kBlocks / 2);
    auto is_chosen = [&](size_t col) { return chosen.count(static_cast<uint32_t>(col / kEmbedBlock)) > 0; };

    Network dense(spec(hidden, 1.0));
    for (size_t b = 0; b < dense.blocks().size(); ++b) {
      ASSERT_EQ(dense.blocks()[b].w.size(), sparse.blocks()[b].w.size());
      std::copy(sparse.blocks()[b].w.begin(), sparse.blocks()[b].w.end(), dense.blocks()[b].w.begin());
    }
    optim::ParamBlock& next = dense.blocks()[hidden.empty() ? dense.blocks().size() - 1 : 3];  // out, or fc1
    ASSERT_EQ(next.name, hidden.empty() ? "out" : "fc1");
    for (size_t r = 0; r < next.rows; ++r)
      for (size_t c = 0; c < kBlocks * kEmbedBlock; ++c)
        if (!is_chosen(c)) next.w[r * next.cols + c] = 0.0f;
    dense.forward_backward(one, 1.0f, 0, s, gd, st_d);
    EXPECT_NEAR(st_s.loss_sum, st_d.loss_sum, 1e-6);

    for (size_t b = 0; b < dense.blocks().size(); ++b) {
      const std::string& name = dense.blocks()[b].name;
      const std::vector<float> ds = dense_gradient(sparse.blocks()[b], gs[b]);
      const std::vector<float> dd = dense_gradient(dense.blocks()[b], gd[b]);
      const size_t cols = dense.blocks()[b].cols;
      for (size_t i = 0; i < dd.size(); ++i) {
        const size_t c = i % cols;
        // Outputs of the input layer (columns of embed, embed_bias, dense_proj; inputs of the next layer).
        const bool input_layer = name == "embed" || name == "embed_bias" || name == "dense_proj";
        if ((input_layer || &dense.blocks()[b] == &next) && c < kBlocks * kEmbedBlock && !is_chosen(c)) {
          if (input_layer) {
            EXPECT_EQ(ds[i], 0.0f) << name << "[" << i << "] of an unchosen output";
          }
          continue;
        }
        expect_close(ds[i], dd[i], name.c_str(), i);
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 1000u);
}

INSTANTIATE_TEST_SUITE_P(Layers, RestrictedDense, ::testing::Values(std::vector<int>{}, std::vector<int>{16}),
                         [](const auto& info) { return info.param.empty() ? "no_hidden" : "dense_h16"; });

// A sample's chosen blocks are those with the largest sum of pre-activations, recomputed
// here in double from the weights.
TEST(EmbedSparsity, ChoosesTheBlocksWithTheLargestSummedPreactivation) {
  testing::ScalarOneThread scalar_one_thread;
  Network net(spec({}, 0.25));  // 1 of 4 blocks
  const data::Batch batch = synthetic_batch(32, 200, true, 5);
  const auto& blocks = net.blocks();
  size_t not_first = 0;
  for (size_t s = 0; s < batch.rows; ++s) {
    std::vector<BlockGrad> g;
    StepStats st;
    net.forward_backward(single_row(batch, s), 1.0f, 0, 0, g, st);
    const std::set<uint32_t> chosen = chosen_blocks(g[net.embed_block()]);
    ASSERT_EQ(chosen.size(), 1u);
    std::vector<double> score(kBlocks, 0.0);
    for (size_t c = 0; c < kBlocks * kEmbedBlock; ++c) {
      double z = blocks[1].w[c];  // embed_bias
      for (int j = 0; j < testing::kIds; ++j) z += blocks[0].w[batch.ids[s * testing::kIds + j] * 64 + c];
      for (int j = 0; j < testing::kDense; ++j) z += blocks[2].w[j * 64 + c] * batch.dense[s * testing::kDense + j];
      score[c / kEmbedBlock] += z;
    }
    const size_t best = static_cast<size_t>(std::max_element(score.begin(), score.end()) - score.begin());
    EXPECT_EQ(*chosen.begin(), best) << "sample " << s;
    not_first += best != 0;
  }
  EXPECT_GT(not_first, 8u) << "the choice should depend on the sample";
}

// A few Adam steps as the trainer takes them (the block sums brought up to date after each).
std::vector<optim::FloatArray> train_steps(int threads, kernels::KernelChoice kernel, std::vector<float>* probs) {
  omp_set_num_threads(threads);
  kernels::select(kernel);
  Network net(spec({16}, 0.5));
  optim::OptimizerOptions o;
  o.lr = 0.05;
  optim::Optimizer opt(o);
  std::vector<BlockGrad> g;
  for (uint64_t t = 1; t <= 6; ++t) {
    const data::Batch batch = synthetic_batch(64, 200, true, 100 + t);
    StepStats st;
    opt.begin_step(t);
    net.forward_backward(batch, 1.0f / 64, t, t * 64, g, st);
    for (size_t b = 0; b < net.blocks().size(); ++b)
      g[b].sparse ? opt.apply(net.blocks()[b], g[b].sparse_grad) : opt.apply(net.blocks()[b], g[b].dense_grad);
    net.embed_rows_updated(g[net.embed_block()].sparse_grad.rows);
  }
  if (probs) {  // the choice after a full refresh of the block sums equals the kept-up one
    const data::Batch test = synthetic_batch(64, 200, true, 999);
    std::vector<float> before(64), after(64);
    net.infer(test, before.data());
    net.rebuild_tables();
    net.infer(test, after.data());
    EXPECT_EQ(before, after);
    *probs = before;
  }
  std::vector<optim::FloatArray> w;
  for (const auto& b : net.blocks()) w.push_back(b.w);
  kernels::select(kernels::KernelChoice::Auto);
  return w;
}

TEST(EmbedSparsity, SameModelOnOneAndTwoThreadsAndBlockSumsStayExact) {
  const int saved = omp_get_max_threads();
  for (auto kernel : {kernels::KernelChoice::Scalar, kernels::KernelChoice::Auto}) {
    std::vector<float> p1, p2;
    const auto one = train_steps(1, kernel, &p1);
    const auto two = train_steps(2, kernel, &p2);
    ASSERT_EQ(one.size(), two.size());
    for (size_t b = 0; b < one.size(); ++b) EXPECT_TRUE(one[b] == two[b]) << "block " << b;
    EXPECT_EQ(p1, p2);
  }
  omp_set_num_threads(saved);
}

// Only the chosen blocks of the batch's rows are updated: the rest of the table is untouched.
TEST(EmbedSparsity, AStepTouchesOnlyTheChosenBlocksOfTheBatchRows) {
  testing::ScalarOneThread scalar_one_thread;
  Network net(spec({}, 0.25));
  const optim::FloatArray before = net.blocks()[0].w;
  const data::Batch batch = synthetic_batch(4, 200, true, 9);
  std::vector<BlockGrad> g;
  StepStats st;
  net.forward_backward(batch, 0.25f, 1, 0, g, st);
  optim::Optimizer opt(optim::OptimizerOptions{});
  opt.begin_step(1);
  opt.apply(net.blocks()[0], g[0].sparse_grad);
  const std::set<uint32_t> rows(g[0].sparse_grad.rows.begin(), g[0].sparse_grad.rows.end());
  EXPECT_LE(rows.size(), 4u * testing::kIds);  // one block per (sample, id)
  size_t changed = 0;
  for (size_t r = 0; r < net.blocks()[0].rows; ++r)
    for (size_t c = 0; c < kEmbedBlock; ++c) {
      const bool diff = net.blocks()[0].w[r * kEmbedBlock + c] != before[r * kEmbedBlock + c];
      if (diff) {
        EXPECT_TRUE(rows.count(static_cast<uint32_t>(r))) << "row " << r << " was not chosen";
      }
      changed += diff;
    }
  EXPECT_GT(changed, rows.size() * kEmbedBlock / 2);
}

TEST(EmbedSparsity, BadSpecsAreRefused) {
  NetworkSpec s = spec({}, 0.5);
  s.embed_dim = 40;
  EXPECT_THROW(Network{s}, std::invalid_argument);
  s = spec({}, 0.0);
  EXPECT_THROW(Network{s}, std::invalid_argument);
}

// A sharded table of blocks: each rank's rows (global row id * blocks + block at local index
// global / P) start from the replicated table's values, for rank counts that divide the
// blocks per row, do not, and exceed them. Until the owners' block sums are gathered the
// choice is refused rather than made from a partial table.
TEST(EmbedSparsity, ShardedRowsStartFromTheReplicatedValues) {
  const Network whole(spec({16}, 0.5));
  const optim::ParamBlock& W = whole.blocks()[0];
  for (uint32_t P : {2u, 3u, 5u})
    for (uint32_t rank = 0; rank < P; ++rank) {
      NetworkSpec s = spec({16}, 0.5);
      s.embed_shard_rank = rank;
      s.embed_shard_count = P;
      Network part(s);
      const optim::ParamBlock& E = part.blocks()[0];
      ASSERT_EQ(E.rows, E.shard.local_rows());
      for (size_t r = 0; r < E.rows; ++r)
        ASSERT_TRUE(std::equal(E.row(r), E.row(r) + kEmbedBlock, W.row(E.shard.global(r))))
            << "P " << P << " rank " << rank << " local row " << r;
      for (size_t b = 1; b < part.blocks().size(); ++b) EXPECT_TRUE(part.blocks()[b].w == whole.blocks()[b].w);
      EXPECT_TRUE(part.block_sums_partial());
      std::vector<uint32_t> chosen;
      EXPECT_THROW(part.choose_input_blocks(synthetic_batch(2, 200, true, 1), chosen), std::logic_error);
    }
}

// Fetched rows (what a sharded rank computes on): choose_input_blocks makes forward's own
// choice, the outputs read from the fetched rows of 16 floats are the same bits, and the
// gradient comes out in the caller's slot order (here the reverse of the rows' order).
TEST(EmbedSparsity, FetchedRowsGiveTheSameOutputsAndGradientBySlot) {
  Network net(spec({16}, 0.5));
  const data::Batch batch = synthetic_batch(32, 200, true, 21);
  std::vector<uint32_t> chosen, table_rows;  // per sample, chosen block and feature: the row it reads
  net.choose_input_blocks(batch, chosen);
  const size_t A = net.embed_active_blocks();
  ASSERT_EQ(chosen.size(), batch.rows * A);
  for (size_t s = 0; s < batch.rows; ++s)
    for (size_t k = 0; k < A; ++k)
      for (int j = 0; j < testing::kIds; ++j)
        table_rows.push_back(batch.ids[s * testing::kIds + j] * static_cast<uint32_t>(kBlocks) + chosen[s * A + k]);
  std::vector<uint32_t> distinct(table_rows.begin(), table_rows.end());
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  const size_t U = distinct.size();
  std::vector<uint32_t> sorted_slots(U), slot_ids(table_rows.size());
  std::vector<float> fetched(U * kEmbedBlock);
  for (size_t i = 0; i < U; ++i) {
    sorted_slots[i] = static_cast<uint32_t>(U - 1 - i);
    std::copy_n(net.blocks()[0].row(distinct[i]), kEmbedBlock, &fetched[sorted_slots[i] * kEmbedBlock]);
  }
  for (size_t p = 0; p < table_rows.size(); ++p) {
    const size_t i = std::lower_bound(distinct.begin(), distinct.end(), table_rows[p]) - distinct.begin();
    slot_ids[p] = sorted_slots[i];
  }
  EmbedRows view{fetched.data(), slot_ids.data(), U};
  view.chosen = chosen.data();
  view.sorted_slots = sorted_slots.data();

  std::vector<float> own(batch.rows), from_rows(batch.rows);
  net.infer(batch, own.data());
  net.infer(batch, from_rows.data(), &view);
  EXPECT_EQ(own, from_rows);
  std::vector<BlockGrad> g_own, g_rows;
  StepStats st;
  net.forward_backward(batch, 1.0f / 32, 1, 0, g_own, st);
  ASSERT_EQ(g_own[0].sparse_grad.rows, distinct);  // the gradient's rows: exactly the rows the choice reads
  net.forward_backward(batch, 1.0f / 32, 1, 0, g_rows, st, &view);
  ASSERT_EQ(g_rows[0].sparse_grad.rows.size(), U);
  for (size_t i = 0; i < U; ++i) {
    const uint32_t slot = sorted_slots[i];
    EXPECT_EQ(g_rows[0].sparse_grad.rows[slot], slot);
    EXPECT_TRUE(std::equal(&g_own[0].sparse_grad.values[i * kEmbedBlock],
                           &g_own[0].sparse_grad.values[(i + 1) * kEmbedBlock],
                           &g_rows[0].sparse_grad.values[slot * kEmbedBlock]))
        << "row " << distinct[i];
  }
  for (size_t b = 1; b < g_own.size(); ++b) {
    EXPECT_EQ(g_own[b].dense_grad.values, g_rows[b].dense_grad.values) << "block " << b;
    EXPECT_EQ(g_own[b].sparse_grad.values, g_rows[b].sparse_grad.values) << "block " << b;
  }
  view.chosen = nullptr;
  EXPECT_THROW(net.infer(batch, own.data(), &view), std::logic_error);
  // A rank whose share of the global batch is empty passes empty (null) arrays.
  data::Batch none;
  none.resize(0, true);
  const EmbedRows nothing{};
  EXPECT_NO_THROW(net.forward_backward(none, 1.0f, 2, 0, g_rows, st, &nothing));
  EXPECT_TRUE(g_rows[0].sparse_grad.rows.empty());
}

// The memory estimate counts the per-block steps and block sums.
TEST(EmbedSparsity, StateBytesCountTheBlockState) {
  NetworkSpec s = spec({}, 1.0);
  const double dense = state_bytes(s);
  s.embed_sparsity = 0.5;
  const double rows = 200.0 * kBlocks;
  EXPECT_DOUBLE_EQ(state_bytes(s) - dense, 8.0 * rows - 4.0 * 200);
}

}  // namespace
}  // namespace sparsetrain::model
