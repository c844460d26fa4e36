// Lazy Adam and SGD against textbook references computed in double.
//
// Reference Adam (Kingma & Ba, with AdamW's decoupled decay), at global step t:
//   m = b1 m + (1-b1) g ; v = b2 v + (1-b2) g^2
//   w = w - lr wd w - lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
// Lazy Adam must give exactly these moments for a row that skipped steps (as if it
// had seen zero gradients), and the same update whenever it is touched, with the
// global t in the bias correction. It leaves out the weight drift dense Adam applies
// on skipped steps, so the reference for a skipped row updates w only when touched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ostream>
#include <set>
#include <vector>

#include <omp.h>

#include "sparsetrain/kernels/bf16.h"
#include "sparsetrain/kernels/kernels.h"
#include "sparsetrain/optim/optimizer.h"
#include "sparsetrain/util/random.h"

namespace sparsetrain::kernels {
// Names the kernel table in test listings instead of dumping the enum's bytes.
void PrintTo(KernelChoice c, std::ostream* os) { *os << (c == KernelChoice::Scalar ? "scalar" : "avx512"); }
}  // namespace sparsetrain::kernels

namespace sparsetrain::optim {
namespace {

struct RefRow {
  std::vector<double> w, m, v;
};

// One reference Adam step on one row; `touched` false = zero gradient and no weight
// update (what lazy Adam is specified to do on a skipped step). EpsPlacement::Raw is
// PyTorch SparseAdam's w -= lr sqrt(c2)/c1 * m / (sqrt(v) + eps), written in the same form
// with eps / sqrt(c2) beside sqrt(v / c2).
void ref_adam(RefRow& r, const std::vector<double>& g, const OptimizerOptions& o, uint64_t t, double lr, bool touched,
              OptimizerOptions::EpsPlacement eps_at = OptimizerOptions::EpsPlacement::Corrected) {
  const double c1 = 1 - std::pow(o.beta1, static_cast<double>(t));
  const double c2 = 1 - std::pow(o.beta2, static_cast<double>(t));
  const double eps = eps_at == OptimizerOptions::EpsPlacement::Raw ? o.eps / std::sqrt(c2) : o.eps;
  for (size_t i = 0; i < r.w.size(); ++i) {
    const double gi = touched ? g[i] : 0.0;
    r.m[i] = o.beta1 * r.m[i] + (1 - o.beta1) * gi;
    r.v[i] = o.beta2 * r.v[i] + (1 - o.beta2) * gi * gi;
    if (!touched) continue;
    r.w[i] -= lr * o.weight_decay * r.w[i];
    r.w[i] -= lr * (r.m[i] / c1) / (std::sqrt(r.v[i] / c2) + eps);
  }
}

std::vector<float> random_vec(size_t n, util::Rng& rng, double scale) {
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(scale * (2 * rng.uniform() - 1));
  return v;
}

ParamBlock make_block(size_t rows, size_t cols, bool lazy, uint64_t seed) {
  ParamBlock b;
  b.name = "test";
  b.allocate(rows, cols, lazy);
  util::Rng rng(seed);
  const std::vector<float> w = random_vec(rows * cols, rng, 1.0);
  b.w.assign(w.begin(), w.end());
  return b;
}

RefRow ref_row(const ParamBlock& b, size_t r) {
  RefRow x;
  for (size_t j = 0; j < b.cols; ++j) {
    x.w.push_back(b.w[r * b.cols + j]);
    x.m.push_back(b.m[r * b.cols + j]);
    x.v.push_back(b.v[r * b.cols + j]);
  }
  return x;
}

// Row r of the block equals the reference (m and v relative to their size, w absolute).
void expect_row_matches(const ParamBlock& b, size_t r, const RefRow& ref, const char* what) {
  for (size_t j = 0; j < b.cols; ++j) {
    const size_t i = r * b.cols + j;
    EXPECT_NEAR(b.m[i], ref.m[j], 2e-6 * std::abs(ref.m[j]) + 2e-8) << what << " m row " << r << " col " << j;
    EXPECT_NEAR(b.v[i], ref.v[j], 4e-5 * std::abs(ref.v[j]) + 1e-14) << what << " v row " << r << " col " << j;
    EXPECT_NEAR(b.w[i], ref.w[j], 2e-6) << what << " w row " << r << " col " << j;
  }
}

SparseGrad sparse_grad(const std::vector<uint32_t>& rows, size_t cols, util::Rng& rng) {
  SparseGrad g;
  g.rows = rows;
  g.cols = cols;
  g.values = random_vec(rows.size() * cols, rng, 0.5);
  return g;
}

class OptimizerTest : public ::testing::TestWithParam<kernels::KernelChoice> {
 protected:
  void SetUp() override {
    if (GetParam() == kernels::KernelChoice::Avx512 && !kernels::cpu_supports_avx512())
      GTEST_SKIP() << "no AVX-512 on this CPU";
    kernels::select(GetParam());
  }
  void TearDown() override { kernels::select(kernels::KernelChoice::Auto); }
};

TEST_P(OptimizerTest, RowUpdatedEveryStepIsTextbookAdam) {
  OptimizerOptions o;
  o.lr = 0.01;
  o.weight_decay = 0.02;
  Optimizer opt(o);
  ParamBlock sparse_block = make_block(3, 7, true, 1);
  ParamBlock dense_block = make_block(3, 7, false, 1);
  std::vector<RefRow> ref;
  for (size_t r = 0; r < 3; ++r) ref.push_back(ref_row(sparse_block, r));
  util::Rng rng(2);
  for (uint64_t t = 1; t <= 12; ++t) {
    const SparseGrad g = sparse_grad({0, 1, 2}, 7, rng);
    opt.begin_step(t);
    opt.apply(sparse_block, g);
    opt.apply(dense_block, DenseGrad{g.values});
    for (size_t r = 0; r < 3; ++r) {
      const std::vector<double> gr(g.values.begin() + static_cast<long>(r * 7),
                                   g.values.begin() + static_cast<long>(r * 7 + 7));
      ref_adam(ref[r], gr, o, t, o.lr, true);
    }
  }
  for (size_t r = 0; r < 3; ++r) {
    expect_row_matches(sparse_block, r, ref[r], "sparse");
    expect_row_matches(dense_block, r, ref[r], "dense");
    EXPECT_EQ(sparse_block.last_step[r], 12u);
  }
  // The dense and the sparse path are one computation.
  EXPECT_EQ(0, std::memcmp(sparse_block.w.data(), dense_block.w.data(), sparse_block.w.size() * sizeof(float)));
}

TEST_P(OptimizerTest, SkippedStepsDecayMomentsLikeZeroGradients) {
  OptimizerOptions o;
  o.lr = 0.02;
  o.beta1 = 0.8;  // strong decay, so a wrong exponent is far off
  o.beta2 = 0.9;
  Optimizer opt(o);
  ParamBlock b = make_block(4, 5, true, 3);
  // Row 0 every step, row 1 on a sparse schedule, row 2 first touched at step 6
  // (its first update must still use the bias correction of t = 6), row 3 never.
  const std::set<uint64_t> row1_steps = {1, 2, 5, 6, 11, 12, 13, 20};
  std::vector<RefRow> ref;
  for (size_t r = 0; r < 4; ++r) ref.push_back(ref_row(b, r));
  util::Rng rng(4);
  for (uint64_t t = 1; t <= 20; ++t) {
    std::vector<uint32_t> rows = {0};
    if (row1_steps.count(t)) rows.push_back(1);
    if (t >= 6 && t % 7 == 6) rows.push_back(2);  // steps 6, 13, 20
    const SparseGrad g = sparse_grad(rows, 5, rng);
    opt.begin_step(t);
    opt.apply(b, g);
    for (size_t r = 0; r < 4; ++r) {
      std::vector<double> gr(5, 0.0);
      bool touched = false;
      for (size_t k = 0; k < rows.size(); ++k)
        if (rows[k] == r) {
          touched = true;
          for (size_t j = 0; j < 5; ++j) gr[j] = g.values[k * 5 + j];
        }
      ref_adam(ref[r], gr, o, t, o.lr, touched);
      if (touched) expect_row_matches(b, r, ref[r], "after update");
    }
  }
  // Row 3 was never touched: all of it is as allocated.
  for (size_t j = 0; j < 5; ++j) {
    EXPECT_EQ(b.m[15 + j], 0.0f);
    EXPECT_EQ(b.v[15 + j], 0.0f);
  }
  EXPECT_EQ(b.last_step[3], 0u);
  EXPECT_EQ(b.last_step[1], 20u);
}

TEST_P(OptimizerTest, HoldLeavesASkippedRowsMomentsAsTheyWere) {
  // optim.skipped_steps = hold (PyTorch's SparseAdam): a touched row gets textbook Adam's
  // update from the moments of its last update, whatever it skipped in between; the bias
  // correction still uses the global t. Skips shorter and longer than the decay table.
  for (const bool bf16 : {false, true}) {
    OptimizerOptions o;
    o.lr = 0.02;
    o.beta1 = 0.8;  // strong decay: a decayed moment would be far from a held one
    o.beta2 = 0.9;
    o.skipped_steps = OptimizerOptions::SkippedSteps::Hold;
    Optimizer opt(o);
    ParamBlock b = make_block(2, 5, true, 7);
    if (bf16) {
      const FloatArray w = b.w;
      b.allocate(2, 5, true, /*bf16=*/true);
      b.w = w;
    }
    const std::set<uint64_t> row1_steps = {1, 2, 5, 6, 13, 4200, 9000};
    RefRow ref{std::vector<double>(b.w.begin() + 5, b.w.begin() + 10), std::vector<double>(5), std::vector<double>(5)};
    util::Rng rng(8);
    for (uint64_t t = 1; t <= 9000; ++t) {
      const bool touch = row1_steps.count(t) > 0;
      const SparseGrad g = sparse_grad(touch ? std::vector<uint32_t>{0, 1} : std::vector<uint32_t>{0}, 5, rng);
      opt.begin_step(t);
      opt.apply(b, g);
      if (!touch) continue;  // held: the reference does nothing on a skipped step
      ref_adam(ref, std::vector<double>(g.values.begin() + 5, g.values.begin() + 10), o, t, o.lr, true);
      if (!bf16) {
        expect_row_matches(b, 1, ref, "hold");
        continue;
      }
      // bfloat16 moments: 8 significant bits, stochastically rounded at every update, so a
      // few ulps (2^-7 of the row's scale each) apart; a decayed moment would be 0.8^k off.
      double scale = 0;
      for (double m : ref.m) scale = std::max(scale, std::abs(m));
      for (size_t j = 0; j < 5; ++j)
        EXPECT_NEAR(kernels::bf16_to_float(b.m16[5 + j]), ref.m[j], 0.03 * scale + 1e-7) << "bf16, t = " << t;
    }
    EXPECT_EQ(b.last_step[1], 9000u);
  }
}

TEST_P(OptimizerTest, HoldAndDecayAgreeOnRowsTouchedEveryStep) {
  // A row that never skips a step has nothing to hold or decay: the same bits either way.
  OptimizerOptions o;
  o.lr = 0.01;
  Optimizer decay(o);
  o.skipped_steps = OptimizerOptions::SkippedSteps::Hold;
  Optimizer hold(o);
  ParamBlock a = make_block(3, 9, true, 9), b = make_block(3, 9, true, 9);
  util::Rng rng(10);
  for (uint64_t t = 1; t <= 30; ++t) {
    const SparseGrad g = sparse_grad({0, 1, 2}, 9, rng);
    decay.begin_step(t);
    hold.begin_step(t);
    decay.apply(a, g);
    hold.apply(b, g);
  }
  EXPECT_EQ(0, std::memcmp(a.w.data(), b.w.data(), a.w.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(a.m.data(), b.m.data(), a.m.size() * sizeof(float)));
}

TEST_P(OptimizerTest, RawTableEpsIsPyTorchSparseAdamOnTheInputTableOnly) {
  // PyTorch's SparseAdam: w -= lr sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps). Small gradients
  // (1e-7, below eps / sqrt(1-b2^t) early on) make the eps placement show in the update.
  OptimizerOptions o;
  o.lr = 0.01;
  o.eps = 1e-6;
  o.table_eps = OptimizerOptions::EpsPlacement::Raw;
  Optimizer opt(o);
  ParamBlock table = make_block(2, 6, true, 11), other = make_block(2, 6, true, 11);
  RefRow raw = ref_row(table, 1), corrected = ref_row(other, 1);
  util::Rng rng(12);
  for (uint64_t t = 1; t <= 5; ++t) {
    SparseGrad g = sparse_grad({1}, 6, rng);
    for (float& x : g.values) x *= 1e-6f;
    opt.begin_step(t);
    opt.apply(table, g, Optimizer::Rows::InputTable);
    opt.apply(other, g);  // any other block keeps Adam's rule
    const std::vector<double> gr(g.values.begin(), g.values.end());
    ref_adam(raw, gr, o, t, o.lr, true, OptimizerOptions::EpsPlacement::Raw);
    ref_adam(corrected, gr, o, t, o.lr, true);
  }
  for (size_t j = 0; j < 6; ++j) {
    EXPECT_NEAR(table.w[6 + j], raw.w[j], 2e-6) << "col " << j;
    EXPECT_NEAR(other.w[6 + j], corrected.w[j], 2e-6) << "col " << j;
    // The two rules differ by far more than the tolerance here: the test can tell them apart.
    EXPECT_GT(std::abs(raw.w[j] - corrected.w[j]), 1e-5) << "col " << j;
  }
}

TEST_P(OptimizerTest, SkipsLongerThanTheDecayTableMatchTextbookAdam) {
  // The decay of a row that skipped k steps comes from a table for k < 4096 and from exp()
  // beyond: a row touched at steps 1, 5000 (4,998 skipped) and 9000 (3,999 skipped) must
  // match textbook Adam fed zero gradients in between.
  OptimizerOptions o;
  o.lr = 0.01;
  // 1 - 2^-12 and 1 - 2^-14: slow decays (4,998 skipped steps leave 0.30 and 0.74), and
  // 1 - beta exact in float, so the float kernels' only error is rounding.
  o.beta1 = 1.0 - 1.0 / 4096;
  o.beta2 = 1.0 - 1.0 / 16384;
  Optimizer opt(o);
  ParamBlock b = make_block(2, 6, true, 5);
  // Large moments before the skips, so the decayed old moments dominate the new ones and an
  // exponent off by one step (a relative change of 1 - beta) is far outside the tolerance.
  for (size_t j = 0; j < 6; ++j) {
    b.m[6 + j] = 0.5f;
    b.v[6 + j] = 0.25f;
  }
  RefRow ref = ref_row(b, 1);
  util::Rng rng(6);
  for (uint64_t t = 1; t <= 9000; ++t) {
    const bool touch = t == 1 || t == 5000 || t == 9000;
    const SparseGrad g = sparse_grad(touch ? std::vector<uint32_t>{0, 1} : std::vector<uint32_t>{0}, 6, rng);
    opt.begin_step(t);
    opt.apply(b, g);
    std::vector<double> gr(6, 0.0);
    if (touch)
      for (size_t j = 0; j < 6; ++j) gr[j] = g.values[6 + j];
    ref_adam(ref, gr, o, t, o.lr, touch);
    if (touch) expect_row_matches(b, 1, ref, "after a long skip");
  }
  EXPECT_EQ(b.last_step[1], 9000u);
}

TEST_P(OptimizerTest, FirstUpdateUsesGlobalStepInBiasCorrection) {
  // A fresh row touched first at t = 50 with gradient g: m = (1-b1) g, v = (1-b2) g^2,
  // so the step is lr * (1-b1)/(1-b1^50) * g / (sqrt((1-b2)/(1-b2^50)) |g| + eps),
  // about lr * 0.1005 / 0.1432 = 0.70 lr, not the lr a per-row t = 1 would give.
  OptimizerOptions o;
  o.lr = 0.1;
  Optimizer opt(o);
  ParamBlock b = make_block(2, 1, true, 5);
  const float w0 = b.w[1];
  opt.begin_step(50);
  opt.apply(b, SparseGrad{{1}, {2.0f}, 1});
  const double expected =
      o.lr * (0.1 / (1 - std::pow(0.9, 50))) / (std::sqrt(0.001 / (1 - std::pow(0.999, 50))) + 1e-8);
  EXPECT_NEAR(w0 - b.w[1], expected, 1e-6);
  EXPECT_GT(expected, 0.65 * o.lr);
  EXPECT_LT(expected, 0.75 * o.lr);
}

// Steps 1, 2, ... of an SGD optimizer run at rates[t - 1], and the update uses that rate
// (SGD moves w by exactly lr x g).
void expect_sgd_rates(const OptimizerOptions& o, const std::vector<double>& rates) {
  Optimizer opt(o);
  for (uint64_t t = 1; t <= rates.size(); ++t) {
    opt.begin_step(t);
    EXPECT_NEAR(opt.current_lr(), rates[t - 1], 1e-15) << "t=" << t;
    ParamBlock b = make_block(1, 1, false, 6);
    const float w0 = b.w[0];
    opt.apply(b, DenseGrad{{1.0f}});
    EXPECT_FLOAT_EQ(w0 - b.w[0], static_cast<float>(rates[t - 1])) << "t=" << t;
  }
}

TEST_P(OptimizerTest, WarmupRampsLearningRateLinearly) {
  OptimizerOptions o;
  o.algorithm = OptimizerOptions::Algorithm::Sgd;
  o.lr = 0.5;
  o.warmup_steps = 4;
  expect_sgd_rates(o, {0.125, 0.25, 0.375, 0.5, 0.5, 0.5});
  // Adam's step scales with the warm-up rate too.
  o.algorithm = OptimizerOptions::Algorithm::Adam;
  Optimizer adam(o);
  ParamBlock b1 = make_block(1, 1, false, 7), b4 = make_block(1, 1, false, 7);
  adam.begin_step(1);
  adam.apply(b1, DenseGrad{{1.0f}});
  Optimizer adam_full(OptimizerOptions{.algorithm = OptimizerOptions::Algorithm::Adam, .lr = 0.5});
  adam_full.begin_step(1);
  adam_full.apply(b4, DenseGrad{{1.0f}});
  const float w0 = make_block(1, 1, false, 7).w[0];
  EXPECT_NEAR((w0 - b1.w[0]) * 4, w0 - b4.w[0], 1e-6);
}

TEST_P(OptimizerTest, LinearScheduleFallsToItsFinalRateThenStaysThere) {
  OptimizerOptions o;
  o.algorithm = OptimizerOptions::Algorithm::Sgd;
  o.lr = 0.5;
  o.decay_steps = 4;
  o.lr_final = 0.2;
  expect_sgd_rates(o, {0.4, 0.3, 0.2, 0.1, 0.1, 0.1});  // lr x (1 - 0.8 t / 4) up to t = 4, then lr x 0.2
  // With a warm-up the two factors multiply: t = 1 of 2 warm-up steps is half of 0.4.
  o.warmup_steps = 2;
  Optimizer warm(o);
  warm.begin_step(1);
  EXPECT_NEAR(warm.current_lr(), 0.2, 1e-15);
  warm.begin_step(3);
  EXPECT_NEAR(warm.current_lr(), 0.2, 1e-15);
  // decay_steps 0: constant, whatever lr_final says.
  o.warmup_steps = 0;
  o.decay_steps = 0;
  Optimizer flat(o);
  flat.begin_step(1000);
  EXPECT_EQ(flat.current_lr(), 0.5);
}

TEST_P(OptimizerTest, SgdWithDecoupledWeightDecay) {
  OptimizerOptions o;
  o.algorithm = OptimizerOptions::Algorithm::Sgd;
  o.lr = 0.1;
  o.weight_decay = 0.3;
  Optimizer opt(o);
  ParamBlock b = make_block(3, 4, true, 8);
  const FloatArray w0 = b.w;
  util::Rng rng(9);
  const SparseGrad g = sparse_grad({0, 2}, 4, rng);
  opt.begin_step(1);
  opt.apply(b, g);
  for (size_t k = 0; k < 2; ++k)
    for (size_t j = 0; j < 4; ++j) {
      const size_t i = g.rows[k] * 4 + j;
      const double want = w0[i] - 0.1 * 0.3 * w0[i] - 0.1 * g.values[k * 4 + j];
      EXPECT_NEAR(b.w[i], want, 1e-6);
    }
  for (size_t j = 0; j < 4; ++j) EXPECT_EQ(b.w[4 + j], w0[4 + j]);  // row 1 untouched
  // SGD keeps no moments.
  for (float x : b.m) EXPECT_EQ(x, 0.0f);
}

TEST_P(OptimizerTest, AdamWeightDecayIsDecoupledFromMoments) {
  // A zero gradient with decay: the moments stay 0 (decay is not fed into them, as it
  // would be with L2 regularisation) and w shrinks by exactly lr * wd.
  OptimizerOptions o;
  o.lr = 0.01;
  o.weight_decay = 0.5;
  Optimizer opt(o);
  ParamBlock b = make_block(1, 6, false, 10);
  const FloatArray w0 = b.w;
  for (uint64_t t = 1; t <= 3; ++t) {
    opt.begin_step(t);
    opt.apply(b, DenseGrad{std::vector<float>(6, 0.0f)});
  }
  for (size_t j = 0; j < 6; ++j) {
    EXPECT_NEAR(b.w[j], w0[j] * std::pow(1 - 0.01 * 0.5, 3), 1e-7);
    EXPECT_EQ(b.m[j], 0.0f);
    EXPECT_EQ(b.v[j], 0.0f);
  }
}

TEST_P(OptimizerTest, OnlyTouchedRowsChange) {
  Optimizer opt(OptimizerOptions{.lr = 0.05, .weight_decay = 0.1});
  ParamBlock b = make_block(50, 9, true, 11);
  util::Rng rng(12);
  // A first step touching every row, so untouched rows later have non-zero moments.
  std::vector<uint32_t> all(50);
  for (uint32_t r = 0; r < 50; ++r) all[r] = r;
  opt.begin_step(1);
  opt.apply(b, sparse_grad(all, 9, rng));
  const ParamBlock before = b;
  const std::vector<uint32_t> touched = {3, 17, 18, 49};
  opt.begin_step(2);
  opt.apply(b, sparse_grad(touched, 9, rng));
  for (uint32_t r = 0; r < 50; ++r) {
    const bool t = std::count(touched.begin(), touched.end(), r) > 0;
    const size_t o = r * 9;
    const bool same = std::memcmp(&b.w[o], &before.w[o], 9 * sizeof(float)) == 0 &&
                      std::memcmp(&b.m[o], &before.m[o], 9 * sizeof(float)) == 0 &&
                      std::memcmp(&b.v[o], &before.v[o], 9 * sizeof(float)) == 0;
    EXPECT_EQ(same, !t) << "row " << r;
    EXPECT_EQ(b.last_step[r], t ? 2u : 1u) << "row " << r;
  }
}

// bfloat16 moments: the same Adam up to the moments' rounding. A row updated every step
// tracks the float32 block: m and v within a few bfloat16 steps (2^-8 relative each), w
// within what that moves the step; untouched rows and the float32 arrays stay as they were.
TEST_P(OptimizerTest, Bf16MomentsTrackFloat32Adam) {
  OptimizerOptions o;
  o.lr = 0.01;
  Optimizer opt(o);
  ParamBlock f32 = make_block(6, 33, true, 21);
  ParamBlock b16;
  b16.name = "test";
  b16.allocate(6, 33, true, /*bf16=*/true);
  b16.w = f32.w;
  EXPECT_TRUE(b16.m.empty() && b16.v.empty());
  ASSERT_EQ(b16.m16.size(), 6u * 33u);
  util::Rng rng(22);
  const std::vector<uint32_t> rows = {0, 2, 5};
  for (uint64_t t = 1; t <= 30; ++t) {
    const SparseGrad g = sparse_grad(rows, 33, rng);
    opt.begin_step(t);
    opt.apply(f32, g);
    opt.apply(b16, g);
  }
  for (uint32_t r = 0; r < 6; ++r) {
    const bool touched = std::count(rows.begin(), rows.end(), r) > 0;
    for (size_t j = 0; j < 33; ++j) {
      const size_t i = r * 33 + j;
      const float m = kernels::bf16_to_float(b16.m16[i]), v = kernels::bf16_to_float(b16.v16[i]);
      if (!touched) {
        EXPECT_EQ(b16.m16[i], 0u);
        EXPECT_EQ(b16.w[i], f32.w[i]);
        continue;
      }
      // Gradients are ~0.25 in size: m's error stays under 5% of its size plus 1e-3.
      EXPECT_NEAR(m, f32.m[i], 0.05 * std::abs(f32.m[i]) + 1e-3) << r << "," << j;
      EXPECT_NEAR(v, f32.v[i], 0.05 * f32.v[i]) << r << "," << j;
      // 30 steps of at most lr each; a few percent of that (a lost update would be ~lr).
      EXPECT_NEAR(b16.w[i], f32.w[i], 0.05 * o.lr * 30) << r << "," << j;
      EXPECT_NE(b16.w[i], make_block(6, 33, true, 21).w[i]);  // it did train
    }
    EXPECT_EQ(b16.last_step[r], touched ? 30u : 0u);
  }
}

// A dense gradient on a block with bfloat16 moments goes row by row (update_row) and must
// give the bits of the sparse batched path over all rows.
TEST_P(OptimizerTest, Bf16MomentsDenseApplyEqualsSparseApply) {
  Optimizer opt(OptimizerOptions{.lr = 0.02});
  ParamBlock a, b;
  a.allocate(9, 17, true, true);
  b.allocate(9, 17, true, true);
  util::Rng rng(24);
  std::vector<uint32_t> all(9);
  for (uint32_t r = 0; r < 9; ++r) all[r] = r;
  for (uint64_t t = 1; t <= 4; ++t) {
    const SparseGrad g = sparse_grad(all, 17, rng);
    opt.begin_step(t);
    opt.apply(a, g);
    opt.apply(b, DenseGrad{g.values});
  }
  EXPECT_TRUE(a.w == b.w);
  EXPECT_TRUE(a.m16 == b.m16);
  EXPECT_TRUE(a.v16 == b.v16);
  EXPECT_NE(a.m16[0], 0u);  // it did update
}

// The rounding bits depend on (step, row, column) only: the same updates on 1 and 2
// threads, and in two orders of row batches, give the same bits.
TEST_P(OptimizerTest, Bf16MomentsDoNotDependOnThreads) {
  Optimizer opt(OptimizerOptions{.lr = 0.02});
  auto run = [&](int threads) {
    ParamBlock b;
    b.name = "test";
    b.allocate(64, 17, true, true);
    util::Rng rng(23);
    std::vector<uint32_t> all(64);
    for (uint32_t r = 0; r < 64; ++r) all[r] = r;
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    for (uint64_t t = 1; t <= 5; ++t) {
      opt.begin_step(t);
      opt.apply(b, sparse_grad(all, 17, rng));
    }
    omp_set_num_threads(saved);
    return b;
  };
  const ParamBlock one = run(1), two = run(2);
  EXPECT_TRUE(one.w == two.w);
  EXPECT_TRUE(one.m16 == two.m16);
  EXPECT_TRUE(one.v16 == two.v16);
}

INSTANTIATE_TEST_SUITE_P(Kernels, OptimizerTest,
                         ::testing::Values(kernels::KernelChoice::Scalar, kernels::KernelChoice::Avx512),
                         [](const ::testing::TestParamInfo<kernels::KernelChoice>& info) {
                           return info.param == kernels::KernelChoice::Scalar ? "scalar" : "avx512";
                         });

}  // namespace
}  // namespace sparsetrain::optim
