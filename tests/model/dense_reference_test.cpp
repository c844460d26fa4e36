// The network against a plain-loop reference written here, in double:
//  * sparsity 1: probabilities and every gradient equal the reference's;
//  * sparse layers that end up selecting every neuron equal the dense network;
//  * results do not depend on the number of OpenMP threads, bit for bit.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "model_test_util.h"
#include "sparsetrain/kernels/kernels.h"
#include "sparsetrain/optim/optimizer.h"

namespace sparsetrain::model {
namespace {

using testing::block;
using testing::dense_gradient;
using testing::kDense;
using testing::kIds;
using testing::small_spec;
using testing::synthetic_batch;

struct Reference {
  std::vector<double> probs;
  std::vector<std::vector<double>> grads;  // in the order of net.blocks()
};

// Textbook forward and backward of the dense network, one sample at a time.
Reference reference(const Network& net, const data::Batch& b, double loss_scale) {
  const NetworkSpec& spec = net.spec();
  const size_t D = static_cast<size_t>(spec.embed_dim), L = spec.hidden.size();
  const auto& blocks = net.blocks();
  Reference r;
  r.grads.resize(blocks.size());
  for (size_t k = 0; k < blocks.size(); ++k) r.grads[k].assign(blocks[k].size(), 0.0);
  auto grad_of = [&](const std::string& name) -> std::vector<double>& {
    for (size_t k = 0; k < blocks.size(); ++k)
      if (blocks[k].name == name) return r.grads[k];
    throw std::runtime_error("no block " + name);
  };
  const auto& E = block(net, "embed");
  const auto& eb = block(net, "embed_bias");
  const auto& O = block(net, "out");

  for (size_t s = 0; s < b.rows; ++s) {
    // Forward: z[0] = sparse-input pre-activation, z[l+1] = layer l's; a = ReLU(z).
    std::vector<std::vector<double>> z(L + 1), a(L + 1);
    z[0].assign(D, 0.0);
    for (size_t j = 0; j < D; ++j) z[0][j] = eb.w[j];
    for (int k = 0; k < kIds; ++k) {
      const size_t id = b.ids[s * kIds + k];
      for (size_t j = 0; j < D; ++j) z[0][j] += E.w[id * D + j];
    }
    if (spec.dense_features) {
      const auto& P = block(net, "dense_proj");
      for (int i = 0; i < kDense; ++i)
        for (size_t j = 0; j < D; ++j) z[0][j] += static_cast<double>(b.dense[s * kDense + i]) * P.w[i * D + j];
    }
    for (size_t l = 0; l <= L; ++l) {
      if (l > 0) {
        const auto& W = block(net, "fc" + std::to_string(l));
        const size_t in = a[l - 1].size(), out = W.rows;
        z[l].assign(out, 0.0);
        for (size_t n = 0; n < out; ++n) {
          double v = W.w[n * W.cols + in];
          for (size_t j = 0; j < in; ++j) v += static_cast<double>(W.w[n * W.cols + j]) * a[l - 1][j];
          z[l][n] = v;
        }
      }
      a[l].resize(z[l].size());
      for (size_t j = 0; j < z[l].size(); ++j) a[l][j] = z[l][j] > 0 ? z[l][j] : 0.0;
    }
    const size_t last = a[L].size();
    double logit = O.w[last];
    for (size_t j = 0; j < last; ++j) logit += static_cast<double>(O.w[j]) * a[L][j];
    const double p = 1.0 / (1.0 + std::exp(-logit));
    r.probs.push_back(p);

    // Backward.
    const double dlogit = (p - b.labels[s]) * loss_scale;
    auto& gO = grad_of("out");
    for (size_t j = 0; j < last; ++j) gO[j] += dlogit * a[L][j];
    gO[last] += dlogit;
    std::vector<double> da(last);
    for (size_t j = 0; j < last; ++j) da[j] = dlogit * O.w[j];
    for (size_t l = L + 1; l-- > 0;) {
      std::vector<double> dz(da.size());
      for (size_t j = 0; j < da.size(); ++j) dz[j] = z[l][j] > 0 ? da[j] : 0.0;
      if (l == 0) {
        auto& gE = grad_of("embed");
        for (int k = 0; k < kIds; ++k)
          for (size_t j = 0; j < D; ++j) gE[b.ids[s * kIds + k] * D + j] += dz[j];
        for (size_t j = 0; j < D; ++j) grad_of("embed_bias")[j] += dz[j];
        if (spec.dense_features)
          for (int i = 0; i < kDense; ++i)
            for (size_t j = 0; j < D; ++j) grad_of("dense_proj")[i * D + j] += b.dense[s * kDense + i] * dz[j];
        break;
      }
      const std::string name = "fc" + std::to_string(l);
      const auto& W = block(net, name);
      auto& gW = grad_of(name);
      const size_t in = a[l - 1].size();
      std::vector<double> dprev(in, 0.0);
      for (size_t n = 0; n < dz.size(); ++n) {
        for (size_t j = 0; j < in; ++j) {
          gW[n * W.cols + j] += dz[n] * a[l - 1][j];
          dprev[j] += dz[n] * W.w[n * W.cols + j];
        }
        gW[n * W.cols + in] += dz[n];
      }
      da = std::move(dprev);
    }
  }
  return r;
}

struct DenseCase {
  const char* name;
  NetworkSpec spec;
  size_t rows;
};

NetworkSpec wider_spec() {
  NetworkSpec s = small_spec({48, 24, 10}, {1.0, 1.0, 1.0}, true, 3);
  s.input_dim = 512;
  s.embed_dim = 16;
  return s;
}

void PrintTo(const DenseCase& c, std::ostream* os) { *os << c.name; }

class DenseReference : public ::testing::TestWithParam<DenseCase> {
  testing::ScalarOneThread scalar_one_thread_;
};

TEST_P(DenseReference, ProbabilitiesAndGradientsMatch) {
  const DenseCase& c = GetParam();
  Network net(c.spec);
  const data::Batch b = synthetic_batch(c.rows, c.spec.input_dim, c.spec.dense_features, 5);
  // Untrained nets sit near p = 0.5; push the output bias so the check also covers
  // probabilities away from the middle.
  for (auto& blk : net.blocks())
    if (blk.name == "out") blk.w[blk.cols - 1] = -1.3f;
  const float scale = 1.0f / static_cast<float>(b.rows);
  const Reference ref = reference(net, b, scale);

  std::vector<float> probs(b.rows);
  net.predict(b, 0, probs.data());
  for (size_t s = 0; s < b.rows; ++s) EXPECT_NEAR(probs[s], ref.probs[s], 2e-6) << "sample " << s;

  std::vector<BlockGrad> grads;
  StepStats stats;
  net.forward_backward(b, scale, 9, 0, grads, stats);
  ASSERT_EQ(grads.size(), net.blocks().size());
  double loss = 0;
  for (size_t s = 0; s < b.rows; ++s)
    loss -= b.labels[s] > 0.5f ? std::log(ref.probs[s]) : std::log(1.0 - ref.probs[s]);
  EXPECT_NEAR(stats.loss_sum, loss, 1e-5);
  EXPECT_EQ(stats.samples, b.rows);

  for (size_t k = 0; k < grads.size(); ++k) {
    const auto& blk = net.blocks()[k];
    const std::vector<float> g = dense_gradient(blk, grads[k]);
    double max_ref = 0;
    for (double v : ref.grads[k]) max_ref = std::max(max_ref, std::abs(v));
    ASSERT_GT(max_ref, 1e-4) << blk.name << ": the reference gradient is all but zero";
    size_t bad = 0;
    for (size_t i = 0; i < g.size(); ++i)
      if (std::abs(g[i] - ref.grads[k][i]) > 1e-6 + 1e-4 * std::abs(ref.grads[k][i]) && bad++ < 5)
        ADD_FAILURE() << blk.name << "[" << i << "]: network " << g[i] << " reference " << ref.grads[k][i];
    EXPECT_EQ(bad, 0u) << blk.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Nets, DenseReference,
                         ::testing::Values(DenseCase{"h16", small_spec({16}, {1.0}, true), 6},
                                           DenseCase{"h16_no_dense_features", small_spec({16}, {1.0}, false), 6},
                                           DenseCase{"h16_12", small_spec({16, 12}, {1.0, 1.0}, true), 6},
                                           DenseCase{"no_hidden", small_spec({}, {}, true), 6},
                                           DenseCase{"wider_h48_24_10", wider_spec(), 40}),
                         [](const ::testing::TestParamInfo<DenseCase>& info) { return std::string(info.param.name); });

// In a multi-rank step a rank's share of the global batch can be empty (the last batch of
// an epoch, or of a resumed one): forward_backward must then add nothing and touch no row.
// Under UBSan this also checks that no empty buffer is indexed (it was, for the dense
// projection's gradient: a requeued 2-rank run in slurm_e2e stopped there).
TEST(EmptyBatch, AddsNothingOnEveryPath) {
  for (const std::vector<double>& sparsity : {std::vector<double>{1.0}, std::vector<double>{0.25}})
    for (const bool dense_features : {true, false}) {
      Network net(small_spec({16}, sparsity, dense_features));
      std::vector<BlockGrad> grads;
      StepStats stats;
      net.forward_backward(synthetic_batch(0, 64, dense_features, 3), 1.0f, 1, 0, grads, stats);
      EXPECT_EQ(stats.samples, 0u);
      EXPECT_EQ(stats.loss_sum, 0.0);
      ASSERT_EQ(grads.size(), net.blocks().size());
      for (size_t k = 0; k < grads.size(); ++k)
        for (float v : dense_gradient(net.blocks()[k], grads[k]))
          ASSERT_EQ(v, 0.0f) << net.blocks()[k].name << ", sparsity " << sparsity[0] << ", dense features "
                             << dense_features;
    }
}

// Sparsity 0.999 on layers of at most 999 neurons asks LSH for ceil(0.999 * n) = n
// neurons: ranked candidates plus random top-ups then cover the whole layer, in a
// sample-dependent order. That must compute exactly what the dense layer computes
// (up to float summation order).
TEST(SparseAllSelected, EqualsDenseNetwork) {
  testing::ScalarOneThread scalar_one_thread;
  for (const std::vector<double>& sparsity :
       {std::vector<double>{0.999, 0.999}, std::vector<double>{0.999, 1.0}, std::vector<double>{1.0, 0.999}}) {
    Network sparse(small_spec({16, 12}, sparsity, true));
    Network dense(small_spec({16, 12}, {1.0, 1.0}, true));
    ASSERT_EQ(sparse.active_per_layer(), (std::vector<size_t>{16, 12}));
    for (size_t k = 0; k < dense.blocks().size(); ++k) dense.blocks()[k].w = sparse.blocks()[k].w;
    const data::Batch b = synthetic_batch(10, 64, true, 21);

    std::vector<float> ps(b.rows), pd(b.rows);
    sparse.predict(b, 0, ps.data());
    dense.predict(b, 0, pd.data());
    for (size_t s = 0; s < b.rows; ++s) EXPECT_NEAR(ps[s], pd[s], 1e-6);

    std::vector<BlockGrad> gs, gd;
    StepStats ss, sd;
    sparse.forward_backward(b, 0.1f, 4, 0, gs, ss);
    dense.forward_backward(b, 0.1f, 4, 0, gd, sd);
    EXPECT_NEAR(ss.loss_sum, sd.loss_sum, 1e-5);
    EXPECT_EQ(ss.active_neurons, sd.active_neurons);
    for (size_t k = 0; k < gd.size(); ++k) {
      const auto& blk = dense.blocks()[k];
      const std::vector<float> a = dense_gradient(blk, gs[k]), d = dense_gradient(blk, gd[k]);
      for (size_t i = 0; i < a.size(); ++i)
        ASSERT_NEAR(a[i], d[i], 1e-7 + 1e-5 * std::abs(d[i])) << blk.name << "[" << i << "]";
    }
  }
}

// A few full training steps (forward/backward, Adam, LSH rebuilds) on a sparse
// network: everything it produces, for a thread count and batch size. Batches of 600
// rows are large enough for the parallel grouping of (id, sample) and (neuron, sample)
// pairs (stable_counting_scatter) to split the work over threads.
struct Trace {
  std::vector<float> probs;
  std::vector<double> losses;
  std::vector<std::vector<float>> weights;
};

Trace train_trace(int threads, size_t batch_rows = 97) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  NetworkSpec spec = small_spec({64, 32}, {0.25, 0.5}, true, 17);
  spec.input_dim = 4096;
  spec.embed_dim = 16;
  spec.lsh.bits_per_table = 3;
  spec.lsh.num_tables = 4;
  spec.lsh.bucket_capacity = 8;
  spec.rebuild_every = 2;
  Network net(spec);
  optim::Optimizer opt(optim::OptimizerOptions{});
  std::vector<BlockGrad> grads;
  Trace t;
  for (uint64_t step = 1; step <= 6; ++step) {
    const data::Batch b = synthetic_batch(batch_rows, spec.input_dim, true, 100 + step);
    StepStats stats;
    opt.begin_step(step);
    net.forward_backward(b, 1.0f / static_cast<float>(batch_rows), step, step * batch_rows, grads, stats);
    t.losses.push_back(stats.loss_sum);
    for (size_t k = 0; k < grads.size(); ++k) {
      if (grads[k].sparse)
        opt.apply(net.blocks()[k], grads[k].sparse_grad);
      else
        opt.apply(net.blocks()[k], grads[k].dense_grad);
    }
    if (net.rebuild_due(step)) net.rebuild(step);
  }
  const data::Batch test = synthetic_batch(200, spec.input_dim, true, 999);
  t.probs.resize(test.rows);
  net.predict(test, 0, t.probs.data());
  for (const auto& blk : net.blocks()) t.weights.emplace_back(blk.w.begin(), blk.w.end());
  omp_set_num_threads(saved);
  return t;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(Threads, OneTwoAndThreeThreadsGiveBitwiseIdenticalTraining) {
  for (auto choice : {kernels::KernelChoice::Scalar, kernels::KernelChoice::Auto}) {
    kernels::select(choice);
    for (size_t batch_rows : {size_t{97}, size_t{600}}) {
      const Trace one = train_trace(1, batch_rows);
      for (int threads : {2, 3}) {
        SCOPED_TRACE(::testing::Message()
                     << kernels::active().name << " batch " << batch_rows << ", " << threads << " threads");
        const Trace many = train_trace(threads, batch_rows);
        EXPECT_EQ(one.losses, many.losses);
        EXPECT_TRUE(bitwise_equal(one.probs, many.probs));
        ASSERT_EQ(one.weights.size(), many.weights.size());
        for (size_t k = 0; k < one.weights.size(); ++k)
          EXPECT_TRUE(bitwise_equal(one.weights[k], many.weights[k])) << "block " << k;
      }
    }
  }
  kernels::select(kernels::KernelChoice::Auto);
}

}  // namespace
}  // namespace sparsetrain::model
