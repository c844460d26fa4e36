#pragma once
// Turning the resolved config into the objects the trainer needs.
#include <string>

#include "sparsetrain/cli/config.h"
#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/model/network.h"
#include "sparsetrain/optim/optimizer.h"

namespace sparsetrain::train {

model::NetworkSpec network_spec(const cli::Config& config);
optim::OptimizerOptions optimizer_options(const cli::Config& config);
data::ReaderOptions reader_options(const cli::Config& config, const std::string& inputs, int rank, int nranks,
                                   data::LabelMode mode);
// Threads and kernel table, process-wide; returns a one-line description.
std::string configure_runtime(const cli::Config& config);

}  // namespace sparsetrain::train
