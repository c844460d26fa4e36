// model.init: the initial weight scales of both schemes, block by block.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "model_test_util.h"
#include "sparsetrain/model/network.h"

namespace sparsetrain::model {
namespace {

using testing::block;
using testing::kDense;
using testing::small_spec;

struct Moments {
  double std = 0, max_abs = 0, bias_max_abs = 0;  // over the weights; over the last (bias) column
};

// The block's spread, its bias column (the last) apart for the FC blocks.
Moments moments_of(const optim::ParamBlock& b, bool has_bias_column) {
  Moments m;
  double sum2 = 0;
  size_t n = 0;
  for (size_t r = 0; r < b.rows; ++r)
    for (size_t c = 0; c < b.cols; ++c) {
      const double w = b.w[r * b.cols + c];
      if (has_bias_column && c + 1 == b.cols) {
        m.bias_max_abs = std::max(m.bias_max_abs, std::abs(w));
        continue;
      }
      sum2 += w * w;
      m.max_abs = std::max(m.max_abs, std::abs(w));
      ++n;
    }
  m.std = std::sqrt(sum2 / static_cast<double>(n));
  return m;
}

TEST(Init, PytorchSchemeUsesPytorchsDefaultScales) {
  NetworkSpec spec = small_spec({256, 128}, {1.0, 1.0}, true);
  spec.input_dim = 4096;
  spec.embed_dim = 64;
  spec.init = NetworkSpec::Init::Pytorch;
  const Network net(spec);
  const Moments embed = moments_of(block(net, "embed"), false);
  EXPECT_NEAR(embed.std, 0.01, 0.0005);
  const Moments proj = moments_of(block(net, "dense_proj"), false);
  EXPECT_LE(proj.max_abs, 1 / std::sqrt(double{kDense}));
  EXPECT_NEAR(proj.std, 1 / std::sqrt(3.0 * kDense), 0.02);
  const std::pair<const char*, double> fcs[] = {{"fc1", 64}, {"fc2", 256}, {"out", 128}};
  for (const auto& [name, fan_in] : fcs) {
    const Moments m = moments_of(block(net, name), true);
    EXPECT_LE(m.max_abs, 1 / std::sqrt(fan_in)) << name;
    EXPECT_NEAR(m.std, 1 / std::sqrt(3 * fan_in), 0.1 / std::sqrt(3 * fan_in)) << name;
    EXPECT_GT(m.bias_max_abs, 0.0) << name << ": PyTorch's biases start non-zero";
    EXPECT_LE(m.bias_max_abs, 1 / std::sqrt(fan_in)) << name;
  }
}

TEST(Init, SparsetrainSchemeKeepsItsScales) {
  NetworkSpec spec = small_spec({256}, {1.0}, true);
  spec.input_dim = 4096;
  spec.embed_dim = 64;
  const Network net(spec);
  EXPECT_NEAR(moments_of(block(net, "embed"), false).std, 0.1 / std::sqrt(39.0), 0.001);
  // The dense projection at the 39-row sum's scale for Criteo's dense inputs (mean squared
  // norm ~119), not at 0.1, which made it ~11x the sum.
  EXPECT_NEAR(moments_of(block(net, "dense_proj"), false).std, 0.1 / std::sqrt(119.0), 0.001);
  const Moments fc = moments_of(block(net, "fc1"), true);
  EXPECT_NEAR(fc.std, std::sqrt(2.0 / 64), 0.1 * std::sqrt(2.0 / 64));
  EXPECT_EQ(fc.bias_max_abs, 0.0);
}

}  // namespace
}  // namespace sparsetrain::model
