#pragma once
// Reading a trained model back for scoring: `sparsetrain evaluate`, `predict` and the
// benchmarks that inspect a model (bench_lsh_recall) all load it here, so a model file
// means the same network to each of them.
#include <memory>
#include <string>
#include <vector>

#include "sparsetrain/cli/config.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/model/network.h"

namespace sparsetrain::train {

struct LoadedModel {
  cli::Config config;  // the model file's config with the command line's overrides
  std::unique_ptr<model::Network> network;
  std::string runtime;  // threads and kernels in use (configure_runtime's line)
};

// Loads the model named by --model PATH (a ConfigError when it is missing; `extras` should
// declare it, as the commands' own option, so that parse_args accepts it): its stored config, overridden by args (which may also
// carry `extras`, the command's own options), sets threads and kernels, checks that this
// rank's share fits in memory (collective), then builds the network and reads its weights
// (with a sharded table, this rank's rows; on one rank, all of them).
LoadedModel load_model(const std::vector<std::string>& args, const std::vector<cli::ExtraOption>& extras,
                       collective::Comm& comm);

}  // namespace sparsetrain::train
