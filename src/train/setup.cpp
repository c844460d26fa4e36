#include "sparsetrain/train/setup.h"

#include <omp.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "sparsetrain/kernels/denormals.h"
#include "sparsetrain/kernels/kernels.h"
#include "sparsetrain/lsh/hash_family.h"
#include "sparsetrain/util/memory_limit.h"

namespace sparsetrain::train {

model::NetworkSpec network_spec(const cli::Config& c, int rank, int nranks) {
  model::NetworkSpec s;
  if (c.dist.embedding == cli::Embedding::Sharded && nranks > 1) {
    s.embed_shard_rank = static_cast<uint32_t>(rank);
    s.embed_shard_count = static_cast<uint32_t>(nranks);
  }
  s.input_dim = static_cast<uint64_t>(c.data.input_dim);
  s.embed_dim = c.model.embed_dim;
  s.embed_sparsity = c.model.embed_sparsity;
  s.dense_features = c.data.dense_features;
  s.hidden = cli::hidden_sizes(c);
  s.sparsity = cli::layer_sparsity(c);
  s.lsh.family = c.lsh.family == cli::LshFamily::Dwta ? lsh::Family::Dwta : lsh::Family::SimHash;
  s.lsh.bits_per_table = c.lsh.bits;
  s.lsh.num_tables = c.lsh.tables;
  s.lsh.bucket_capacity = c.lsh.bucket_capacity;
  s.rebuild_every = c.lsh.rebuild_every;
  s.rebuild_growth = c.lsh.rebuild_growth;
  s.rebuild_max = c.lsh.rebuild_max;
  s.seed = static_cast<uint64_t>(c.model.init_seed >= 0 ? c.model.init_seed : c.train.seed);
  s.bf16_moments = c.optim.moments == cli::Moments::Bfloat16;
  s.init = c.model.init == cli::InitScheme::Pytorch ? model::NetworkSpec::Init::Pytorch
                                                    : model::NetworkSpec::Init::Sparsetrain;
  return s;
}

namespace {

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / (1u << 30));
  return buf;
}

}  // namespace

std::string check_memory(const cli::Config& config, collective::Comm& comm) {
  const double need = model::state_bytes(network_spec(config, comm.rank(), comm.size()));
  size_t me = 0;
  const uint64_t one = 1;
  const int node_ranks = static_cast<int>(comm.node_allgather(&one, 1, me).size());
  const util::MemoryLimit have = util::available_memory(node_ranks);
  std::string line = "memory: the model needs at least " + gib(need) + " per rank; " + gib(have.bytes) +
                     " available (" + have.source + ")";
  if (need <= have.bytes) return line;
  std::string hidden;
  for (int h : cli::hidden_sizes(config)) {
    if (!hidden.empty()) hidden += ',';
    hidden += std::to_string(h);
  }
  throw cli::ConfigError(
      "this config needs at least " + gib(need) + " per rank for weights, Adam state and LSH tables, more than the " +
      gib(have.bytes) + " this rank may use (" + have.source + "). The size comes from data.input_dim = " +
      std::to_string(config.data.input_dim) + ", model.embed_dim = " + std::to_string(config.model.embed_dim) +
      ", model.hidden = \"" + hidden + "\", optim.moments = " + cli::name_of(config.optim.moments) +
      ", dist.embedding = " + cli::name_of(config.dist.embedding) + " over " + std::to_string(comm.size()) +
      " rank(s); shrink them, use optim.moments bfloat16, or shard the input table over more ranks");
}

collective::ExchangeMode exchange_mode(const cli::Config& c) {
  switch (c.dist.exchange) {
    case cli::Exchange::Sparse: return collective::ExchangeMode::Sparse;
    case cli::Exchange::Dense: return collective::ExchangeMode::Dense;
    case cli::Exchange::Auto: break;
  }
  return collective::ExchangeMode::Auto;
}

optim::OptimizerOptions optimizer_options(const cli::Config& c, uint64_t run_steps) {
  optim::OptimizerOptions o;
  o.algorithm = c.optim.name == cli::OptimizerName::Sgd ? optim::OptimizerOptions::Algorithm::Sgd
                                                        : optim::OptimizerOptions::Algorithm::Adam;
  o.lr = c.optim.lr;
  o.beta1 = c.optim.beta1;
  o.beta2 = c.optim.beta2;
  o.eps = c.optim.eps;
  o.weight_decay = c.optim.weight_decay;
  o.warmup_steps = c.optim.warmup_steps;
  if (c.optim.lr_schedule == cli::LrSchedule::Linear) {
    o.decay_steps = c.optim.schedule_steps > 0 ? static_cast<uint64_t>(c.optim.schedule_steps) : run_steps;
    o.lr_final = c.optim.lr_final;
  }
  o.skipped_steps = c.optim.skipped_steps == cli::SkippedSteps::Hold ? optim::OptimizerOptions::SkippedSteps::Hold
                                                                     : optim::OptimizerOptions::SkippedSteps::Decay;
  o.table_eps = c.optim.table_eps == cli::TableEps::Raw ? optim::OptimizerOptions::EpsPlacement::Raw
                                                        : optim::OptimizerOptions::EpsPlacement::Corrected;
  return o;
}

data::ReaderOptions reader_options(const cli::Config& c, const std::string& inputs, int rank, int nranks,
                                   data::LabelMode mode) {
  data::ReaderOptions r;
  r.inputs = inputs;
  r.rank = rank;
  r.nranks = nranks;
  r.label_mode = mode;
  r.on_error = c.data.on_error == cli::OnError::Fail ? data::ErrorPolicy::Fail : data::ErrorPolicy::Skip;
  r.max_warnings = c.data.max_warnings;
  r.featurizer.input_dim = static_cast<uint64_t>(c.data.input_dim);
  r.featurizer.hash_seed = static_cast<uint64_t>(c.data.hash_seed);
  r.featurizer.int_encoding =
      c.data.int_encoding == cli::IntEncoding::Identity ? data::IntEncoding::Identity : data::IntEncoding::LogSquared;
  r.featurizer.dense_features = c.data.dense_features;
  return r;
}

int fair_thread_share(const std::vector<std::vector<uint64_t>>& masks, size_t me) {
  double share = 0;
  const std::vector<uint64_t>& mine = masks.at(me);
  for (size_t w = 0; w < mine.size(); ++w)
    for (int b = 0; b < 64; ++b) {
      const uint64_t bit = uint64_t{1} << b;
      if (!(mine[w] & bit)) continue;
      int sharing = 0;
      for (const auto& m : masks) sharing += w < m.size() && (m[w] & bit) ? 1 : 0;
      share += 1.0 / sharing;
    }
  return std::max(1, static_cast<int>(share + 1e-9));
}

std::string configure_runtime(const cli::Config& c, collective::Comm* comm) {
  std::string how = "train.threads";
  if (c.train.threads > 0) {
    omp_set_num_threads(c.train.threads);
  } else if (std::getenv("OMP_NUM_THREADS") != nullptr) {
    how = "OMP_NUM_THREADS";  // the user's setting, applied by OpenMP itself
  } else {
    // This rank's CPU mask, gathered from the ranks of its node.
    constexpr size_t kWords = CPU_SETSIZE / 64;
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<uint64_t> mine(kWords, 0);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
      for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) mine[static_cast<size_t>(cpu) / 64] |= uint64_t{1} << (cpu % 64);
    } else {
      mine[0] = 1;
    }
    size_t me = 0;
    const std::vector<uint64_t> all = comm ? comm->node_allgather(mine.data(), kWords, me) : mine;
    std::vector<std::vector<uint64_t>> masks;
    for (size_t r = 0; r * kWords < all.size(); ++r)
      masks.emplace_back(all.begin() + static_cast<long>(r * kWords),
                         all.begin() + static_cast<long>((r + 1) * kWords));
    omp_set_num_threads(fair_thread_share(masks, me));
    how = "auto: " + std::to_string(CPU_COUNT(&set)) + " CPUs allowed, shared with " +
          std::to_string(masks.size() - 1) + " other rank(s) on this node";
  }
  kernels::select(c.train.kernels == cli::Kernels::Scalar   ? kernels::KernelChoice::Scalar
                  : c.train.kernels == cli::Kernels::Avx512 ? kernels::KernelChoice::Avx512
                                                            : kernels::KernelChoice::Auto);
  // The floating-point mode is per thread: set it on every thread of the OpenMP pool (which
  // may already exist), this one included; threads created later inherit it from this one.
  const kernels::Denormals denormals =
      c.train.denormals == cli::Denormals::Keep ? kernels::Denormals::Keep : kernels::Denormals::Flush;
#pragma omp parallel
  kernels::set_denormals(denormals);
  // Again on this thread, after the region: LLVM's OpenMP runtime (clang builds) restores
  // the calling thread's MXCSR at the join and copies it to every worker at each fork.
  kernels::set_denormals(denormals);
  return std::string("kernels=") + kernels::active().name + " threads=" + std::to_string(omp_get_max_threads()) +
         " denormals=" + cli::name_of(c.train.denormals) + " (" + how + ")";
}

}  // namespace sparsetrain::train
