// fair_thread_share: a rank's threads when train.threads = 0, from the CPU masks of the
// ranks on its node (each CPU counts 1 / number of ranks allowed on it).
#include <gtest/gtest.h>

#include <omp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sparsetrain/cli/config.h"
#include "sparsetrain/kernels/denormals.h"
#include "sparsetrain/train/setup.h"

namespace sparsetrain::train {
namespace {

std::vector<uint64_t> cpus(int first, int count) {  // a mask of CPUs [first, first + count)
  std::vector<uint64_t> m(16, 0);
  for (int c = first; c < first + count; ++c) m[static_cast<size_t>(c) / 64] |= uint64_t{1} << (c % 64);
  return m;
}

TEST(FairThreadShare, TypicalBindings) {
  // One process: every CPU it may use.
  EXPECT_EQ(fair_thread_share({cpus(0, 8)}, 0), 8);
  // Two ranks, no binding, 2 CPUs: one thread each (not two).
  EXPECT_EQ(fair_thread_share({cpus(0, 2), cpus(0, 2)}, 1), 1);
  // One core each: 1.
  EXPECT_EQ(fair_thread_share({cpus(0, 1), cpus(1, 1)}, 0), 1);
  // Two ranks, one per 96-core socket: the whole socket each.
  EXPECT_EQ(fair_thread_share({cpus(0, 96), cpus(96, 96)}, 1), 96);
  // 192 ranks bound to their socket (Open MPI's default above 2 ranks): 1 each, not 96.
  std::vector<std::vector<uint64_t>> masks;
  for (int r = 0; r < 192; ++r) masks.push_back(cpus(r < 96 ? 0 : 96, 96));
  EXPECT_EQ(fair_thread_share(masks, 0), 1);
  EXPECT_EQ(fair_thread_share(masks, 191), 1);
  // 8 ranks, no binding, 192 CPUs: 24 each; a container allowing 2 CPUs to 2 ranks: 1 each.
  EXPECT_EQ(fair_thread_share(std::vector<std::vector<uint64_t>>(8, cpus(0, 192)), 3), 24);
  EXPECT_EQ(fair_thread_share({cpus(40, 2), cpus(40, 2)}, 0), 1);
  // Never 0, even with an empty mask.
  EXPECT_EQ(fair_thread_share({cpus(0, 0)}, 0), 1);
}

// train.denormals reaches every thread of the OpenMP pool, including threads that
// already existed before configure_runtime ran (the mode is per thread).
TEST(OptimizerOptions, SkippedStepsReachTheOptimizer) {
  using Skipped = optim::OptimizerOptions::SkippedSteps;
  EXPECT_EQ(optimizer_options(cli::parse_args({}).config).skipped_steps, Skipped::Decay);
  EXPECT_EQ(optimizer_options(cli::parse_args({"--optim.skipped_steps", "hold"}).config).skipped_steps, Skipped::Hold);
  EXPECT_THROW(cli::parse_args({"--optim.skipped_steps", "freeze"}), cli::ConfigError);
}

TEST(OptimizerOptions, LrScheduleReachesTheOptimizer) {
  using cli::parse_args;
  // Default: linear to 0.1 over the run's length (what the trainer passes), or over
  // optim.schedule_steps when set; constant ignores both.
  const optim::OptimizerOptions def = optimizer_options(parse_args({}).config, 489);
  EXPECT_EQ(def.decay_steps, 489u);
  EXPECT_EQ(def.lr_final, 0.1);
  const auto fixed =
      optimizer_options(parse_args({"--optim.schedule_steps", "100", "--optim.lr_final", "0"}).config, 489);
  EXPECT_EQ(fixed.decay_steps, 100u);
  EXPECT_EQ(fixed.lr_final, 0.0);
  EXPECT_EQ(optimizer_options(parse_args({"--optim.lr_schedule", "constant"}).config, 489).decay_steps, 0u);
  EXPECT_THROW(parse_args({"--optim.lr_schedule", "cosine"}), cli::ConfigError);
  EXPECT_THROW(parse_args({"--optim.lr_final", "1.5"}), cli::ConfigError);
}

TEST(OptimizerOptions, TableEpsReachesTheOptimizer) {
  using Eps = optim::OptimizerOptions::EpsPlacement;
  EXPECT_EQ(optimizer_options(cli::parse_args({}).config).table_eps, Eps::Corrected);
  EXPECT_EQ(optimizer_options(cli::parse_args({"--optim.table_eps", "raw"}).config).table_eps, Eps::Raw);
  EXPECT_THROW(cli::parse_args({"--optim.table_eps", "sparse"}), cli::ConfigError);
}

// embed_sparsity < 1 shards like the dense table: across ranks the table is split, on one rank
// it is whole either way, and the memory estimate counts this rank's blocks plus every row's
// block sum (replicated on every rank).
TEST(NetworkSpec, EmbedSparsityShardsAcrossRanks) {
  const auto sharded =
      cli::parse_args({"--model.embed_sparsity", "0.5", "--dist.embedding", "sharded", "--model.hidden", ""}).config;
  const model::NetworkSpec two = network_spec(sharded, 1, 2);
  EXPECT_EQ(two.embed_shard_count, 2u);
  EXPECT_EQ(two.embed_shard_rank, 1u);
  EXPECT_EQ(network_spec(sharded, 0, 1).embed_shard_count, 1u);
  const double whole = model::state_bytes(network_spec(sharded, 0, 1));
  const double half = model::state_bytes(two);
  const double rows = static_cast<double>(two.input_dim) * two.embed_dim / 16;  // rows of 16 floats
  // Half of the rows' weights, moments and steps leave; the block sums (4 bytes a row) stay.
  EXPECT_NEAR(whole - half, rows / 2 * (16 * 12 + 4), 1e3);
  const auto replicated = cli::parse_args({"--model.embed_sparsity", "0.5", "--dist.embedding", "replicated"}).config;
  EXPECT_EQ(network_spec(replicated, 1, 2).embed_shard_count, 1u);
}

TEST(ConfigureRuntime, DenormalModeOnEveryThread) {
#if !(defined(__x86_64__) || defined(__i386__))
  GTEST_SKIP() << "no MXCSR on this architecture";
#endif
  omp_set_num_threads(3);  // more threads than cores is fine: this checks state, not speed
  for (const char* mode : {"flush", "keep", "flush"}) {
    SCOPED_TRACE(mode);
#pragma omp parallel
    kernels::set_denormals(std::string(mode) == "flush" ? kernels::Denormals::Keep : kernels::Denormals::Flush);
    const cli::Config c = cli::parse_args({"--train.threads", "3", "--train.denormals", mode}).config;
    const std::string how = configure_runtime(c);
    EXPECT_NE(how.find(std::string("denormals=") + mode), std::string::npos) << how;
    const kernels::Denormals want = std::string(mode) == "flush" ? kernels::Denormals::Flush : kernels::Denormals::Keep;
    int wrong = 0, seen = 0;
#pragma omp parallel reduction(+ : wrong, seen)
    {
      seen += 1;
      wrong += kernels::current_denormals() != want ? 1 : 0;
    }
    EXPECT_EQ(seen, 3);
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(kernels::current_denormals(), want);  // and the calling thread
  }
  kernels::set_denormals(kernels::Denormals::Keep);
}

}  // namespace
}  // namespace sparsetrain::train
