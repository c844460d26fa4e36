#pragma once
// Helpers shared by the model tests: tiny specs, synthetic batches, and views of
// the gradients forward_backward produces.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "sparsetrain/data/featurizer.h"
#include "sparsetrain/kernels/kernels.h"
#include "sparsetrain/model/network.h"
#include "sparsetrain/util/random.h"

namespace sparsetrain::model::testing {

constexpr int kIds = data::Featurizer::kIdsPerRow;
constexpr int kDense = data::Featurizer::kDensePerRow;

// For the life of the object: scalar kernels on one thread (both restored after).
// Tests of the math use it: thousands of tiny passes on 2 busy cores would spend
// their time in OpenMP barriers, and the threading has its own bitwise test.
class ScalarOneThread {
 public:
  ScalarOneThread() : threads_(omp_get_max_threads()) {
    omp_set_num_threads(1);
    kernels::select(kernels::KernelChoice::Scalar);
  }
  ~ScalarOneThread() {
    kernels::select(kernels::KernelChoice::Auto);
    omp_set_num_threads(threads_);
  }
  ScalarOneThread(const ScalarOneThread&) = delete;
  ScalarOneThread& operator=(const ScalarOneThread&) = delete;

 private:
  int threads_;
};

// A small network; `sparsity` has one entry per hidden layer.
inline NetworkSpec small_spec(std::vector<int> hidden, std::vector<double> sparsity, bool dense_features,
                              uint64_t seed = 7) {
  NetworkSpec s;
  s.input_dim = 64;
  s.embed_dim = 8;
  s.dense_features = dense_features;
  s.hidden = std::move(hidden);
  s.sparsity = std::move(sparsity);
  // Few short tables with small buckets: queries both rank-and-truncate and top up.
  s.lsh.bits_per_table = 2;
  s.lsh.num_tables = 3;
  s.lsh.bucket_capacity = 4;
  s.seed = seed;
  return s;
}

// Random rows: ids uniform in [0, input_dim) (so rows share ids and a row may repeat
// one), dense values log(1+v)-like in [0, 3) with about a third exactly 0 (the
// network skips zeros), and both labels present.
inline data::Batch synthetic_batch(size_t rows, uint64_t input_dim, bool dense, uint64_t seed) {
  data::Batch b;
  b.resize(rows, dense);
  util::Rng rng(seed);
  for (auto& id : b.ids) id = static_cast<uint32_t>(rng.below(input_dim));
  for (auto& x : b.dense) x = rng.uniform() < 0.33 ? 0.0f : static_cast<float>(3.0 * rng.uniform());
  for (size_t i = 0; i < rows; ++i) b.labels[i] = static_cast<float>(i % 2);
  return b;
}

// One row of a batch as a batch of its own.
inline data::Batch single_row(const data::Batch& b, size_t s) {
  data::Batch one;
  one.resize(1, !b.dense.empty());
  std::copy(b.ids.begin() + static_cast<long>(s * kIds), b.ids.begin() + static_cast<long>((s + 1) * kIds),
            one.ids.begin());
  if (!b.dense.empty())
    std::copy(b.dense.begin() + static_cast<long>(s * kDense), b.dense.begin() + static_cast<long>((s + 1) * kDense),
              one.dense.begin());
  one.labels[0] = b.labels[s];
  return one;
}

// Dense copy (rows x cols of the block) of a block's gradient; rows a sparse
// gradient does not list are 0.
inline std::vector<float> dense_gradient(const optim::ParamBlock& block, const BlockGrad& g) {
  if (!g.sparse) return g.dense_grad.values;
  std::vector<float> out(block.size(), 0.0f);
  const auto& sg = g.sparse_grad;
  for (size_t r = 0; r < sg.rows.size(); ++r)
    std::copy(sg.values.begin() + static_cast<long>(r * sg.cols),
              sg.values.begin() + static_cast<long>((r + 1) * sg.cols),
              out.begin() + static_cast<long>(sg.rows[r] * block.cols));
  return out;
}

// A network's parameter block by name ("embed", "fc1", "out", ...).
inline const optim::ParamBlock& block(const Network& net, const std::string& name) {
  for (const auto& b : net.blocks())
    if (b.name == name) return b;
  throw std::runtime_error("no block " + name);
}

// Mean binary cross-entropy of predict()'s probabilities, clamped as the network does.
inline double mean_bce(Network& net, const data::Batch& b, uint64_t sample_base) {
  std::vector<float> p(b.rows);
  net.predict(b, sample_base, p.data());
  double sum = 0;
  for (size_t s = 0; s < b.rows; ++s) {
    const double q = std::clamp(static_cast<double>(p[s]), 1e-7, 1.0 - 1e-7);
    sum += b.labels[s] > 0.5f ? -std::log(q) : -std::log(1.0 - q);
  }
  return sum / static_cast<double>(b.rows);
}

}  // namespace sparsetrain::model::testing
