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

// Loads the model named by --model PATH (a ConfigError when it is missing; `extras` declares
// it as the command's own option, so that parse_args accepts it). The stored config,
// overridden by the rest of args, sets threads and kernels; then this rank's share is checked
// against its memory (collective), the network built and its weights read (with a sharded
// table, this rank's rows; on one rank, all of them).
LoadedModel load_model(const std::vector<std::string>& args, const std::vector<cli::ExtraOption>& extras,
                       collective::Comm& comm);

}  // namespace sparsetrain::train
