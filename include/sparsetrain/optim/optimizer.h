#pragma once
// Adam with lazy (sparse) row updates, and plain SGD.
//
// Lazy Adam: a row that skipped k steps first decays its moments by beta^k, which
// is exactly what dense Adam's moments would be after k zero gradients; bias
// correction uses the global step t. What it leaves out (as every lazy Adam does)
// is the small weight drift dense Adam would apply from momentum on skipped steps.
// SkippedSteps::Hold instead leaves a skipped row's moments as they were until its
// next update, as PyTorch's SparseAdam and TensorFlow Addons' LazyAdam do: a rare
// feature keeps its momentum and its second-moment scale.
//
// Where eps enters: Kingma & Ba's Algorithm 1 and PyTorch's Adam add it to sqrt(v_hat),
// the bias-corrected second moment. PyTorch's SparseAdam (and TensorFlow's Adam) add it
// to sqrt(v) and bias-correct the step instead: an effective eps of eps / sqrt(1 - beta2^t),
// 32x larger at t = 1 with beta2 = 0.999, which damps the first updates of rows with
// small gradients. EpsPlacement::Raw gives the input table that rule (optim.table_eps),
// so sparsetrain can compute exactly what a PyTorch model with SparseAdam computes.
#include <cstdint>
#include <string>
#include <vector>

#include "sparsetrain/kernels/kernels.h"
#include "sparsetrain/optim/param_block.h"

namespace sparsetrain::optim {

struct OptimizerOptions {
  enum class Algorithm { Adam, Sgd };
  enum class SkippedSteps { Decay, Hold };     // what a lazy row's moments do on the steps it skips
  enum class EpsPlacement { Corrected, Raw };  // eps beside sqrt(v_hat), or beside sqrt(v)
  Algorithm algorithm = Algorithm::Adam;
  SkippedSteps skipped_steps = SkippedSteps::Decay;
  EpsPlacement table_eps = EpsPlacement::Corrected;  // the input table's; every other block: Corrected
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;
  int64_t warmup_steps = 0;
  // The rate at step t is lr x min(1, t / warmup_steps) x (1 - (1 - lr_final) x min(1, t / decay_steps)):
  // a linear fall to lr x lr_final at step decay_steps, then flat. decay_steps 0: no fall.
  uint64_t decay_steps = 0;
  double lr_final = 1.0;
};

// The learning rate at global step t (1-based) under `options`: the formula above, before
// Adam's bias correction. Optimizer::begin_step uses it; a resume compares two runs' with it.
double scheduled_lr(const OptimizerOptions& options, uint64_t t);

class Optimizer {
 public:
  explicit Optimizer(const OptimizerOptions& options);

  // Starts global step t (1-based) and fixes the learning rate for it.
  void begin_step(uint64_t t);
  // Which block a sparse update is for: options().table_eps applies to the input table only.
  enum class Rows { Other, InputTable };
  // Apply this step's gradients. Thread-parallel over rows (OpenMP); deterministic.
  void apply(ParamBlock& block, const SparseGrad& grad, Rows rows = Rows::Other) const;
  void apply(ParamBlock& block, const DenseGrad& grad) const;

  double current_lr() const { return lr_now_; }
  const OptimizerOptions& options() const { return options_; }

 private:
  void update_row(ParamBlock& block, size_t row, const float* g) const;
  // beta^skipped as the per-row update uses it: float(exp(skipped * log(beta))), from a
  // table for the common small counts (the same expression, so the same bits).
  float decay(uint32_t skipped, const std::vector<float>& table, double log_beta) const;
  // This step's Adam constants, for a row that skipped `skipped` steps.
  kernels::AdamRowParams adam_params(uint32_t skipped) const;
  // Seed of this step's stochastic rounding of bfloat16 moments (a function of t only:
  // the same on every rank and thread, and after a resume).
  uint32_t round_seed() const;

  OptimizerOptions options_;
  bool adam_ = true;
  uint64_t t_ = 0;
  double lr_now_ = 0, lr_t_ = 0, eps_hat_ = 0;  // eps_hat_: eps scaled to sit beside sqrt(v) (Corrected)
  double log_beta1_ = 0, log_beta2_ = 0;        // of the skipped-step decay: 0 (no decay) under Hold
  std::vector<float> decay1_, decay2_;          // beta1^k, beta2^k for k < kDecayTable (1 under Hold)
};

}  // namespace sparsetrain::optim
