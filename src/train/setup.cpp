#include "sparsetrain/train/setup.h"

#include <omp.h>

#include "sparsetrain/kernels/kernels.h"
#include "sparsetrain/lsh/hash_family.h"

namespace sparsetrain::train {

model::NetworkSpec network_spec(const cli::Config& c) {
  model::NetworkSpec s;
  s.input_dim = static_cast<uint64_t>(c.data.input_dim);
  s.embed_dim = c.model.embed_dim;
  s.dense_features = c.data.dense_features;
  s.hidden = cli::hidden_sizes(c);
  s.sparsity = cli::layer_sparsity(c);
  s.lsh.family = lsh::parse_family(c.lsh.family);
  s.lsh.bits_per_table = c.lsh.bits;
  s.lsh.num_tables = c.lsh.tables;
  s.lsh.bucket_capacity = c.lsh.bucket_capacity;
  s.rebuild_every = c.lsh.rebuild_every;
  s.rebuild_growth = c.lsh.rebuild_growth;
  s.rebuild_max = c.lsh.rebuild_max;
  s.seed = static_cast<uint64_t>(c.model.init_seed >= 0 ? c.model.init_seed : c.train.seed);
  return s;
}

optim::OptimizerOptions optimizer_options(const cli::Config& c) {
  optim::OptimizerOptions o;
  o.name = c.optim.name;
  o.lr = c.optim.lr;
  o.beta1 = c.optim.beta1;
  o.beta2 = c.optim.beta2;
  o.eps = c.optim.eps;
  o.weight_decay = c.optim.weight_decay;
  o.warmup_steps = c.optim.warmup_steps;
  return o;
}

data::ReaderOptions reader_options(const cli::Config& c, const std::string& inputs, int rank, int nranks,
                                   data::LabelMode mode) {
  data::ReaderOptions r;
  r.inputs = inputs;
  r.rank = rank;
  r.nranks = nranks;
  r.label_mode = mode;
  r.on_error = c.data.on_error == "fail" ? data::ErrorPolicy::Fail : data::ErrorPolicy::Skip;
  r.max_warnings = c.data.max_warnings;
  r.featurizer.input_dim = static_cast<uint64_t>(c.data.input_dim);
  r.featurizer.hash_seed = static_cast<uint64_t>(c.data.hash_seed);
  r.featurizer.int_encoding =
      c.data.int_encoding == "identity" ? data::IntEncoding::Identity : data::IntEncoding::LogSquared;
  r.featurizer.dense_features = c.data.dense_features;
  return r;
}

std::string configure_runtime(const cli::Config& c) {
  if (c.train.threads > 0) omp_set_num_threads(c.train.threads);
  kernels::select(kernels::parse_kernel_choice(c.train.kernels));
  return std::string("kernels=") + kernels::active().name + " threads=" + std::to_string(omp_get_max_threads());
}

}  // namespace sparsetrain::train
