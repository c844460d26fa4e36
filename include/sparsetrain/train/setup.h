#pragma once
// Turning the resolved config into the objects the trainer needs.
#include <cstdint>
#include <string>
#include <vector>

#include "sparsetrain/cli/config.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/collective/gradient_exchange.h"
#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/model/network.h"
#include "sparsetrain/optim/optimizer.h"

namespace sparsetrain::train {

// rank, nranks: with dist.embedding = sharded and more than one rank, this rank's rows
// of the input table only.
model::NetworkSpec network_spec(const cli::Config& config, int rank = 0, int nranks = 1);
// run_steps: where a linear schedule ends when optim.schedule_steps is 0 (run_optimizer_options);
// 0 there leaves the rate constant (the benchmarks, which time steps, not runs).
optim::OptimizerOptions optimizer_options(const cli::Config& config, uint64_t run_steps = 0);
collective::ExchangeMode exchange_mode(const cli::Config& config);
data::ReaderOptions reader_options(const cli::Config& config, const std::string& inputs, int rank, int nranks,
                                   data::LabelMode mode);
// Threads and kernel table, process-wide; returns a one-line description.
// train.threads = 0 and no OMP_NUM_THREADS: this rank's fair share of the CPUs it may
// run on, counting each CPU as 1 / (ranks on this node allowed to use it). So N ranks
// on a node never start N x cores threads (Open MPI binds to a whole socket above 2
// ranks, or not at all with --bind-to none). Without comm: the CPUs this process may use.
std::string configure_runtime(const cli::Config& config, collective::Comm* comm = nullptr);
// The memory this rank's network needs (weights, Adam state, LSH tables: model::state_bytes)
// against what it may allocate (util::available_memory, the node's share split among its
// ranks): a one-line description, or a ConfigError naming the keys that decide the size
// when it does not fit. Collective (counts the ranks of this node).
std::string check_memory(const cli::Config& config, collective::Comm& comm);
// That share for node rank `me`, from every node rank's CPU mask (64 CPUs per word):
// floor(sum over me's CPUs of 1 / ranks sharing the CPU), at least 1.
int fair_thread_share(const std::vector<std::vector<uint64_t>>& masks, size_t me);

}  // namespace sparsetrain::train
