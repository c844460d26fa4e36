#pragma once
// train.run_dir belongs to one run: a new run never silently replaces the model.h5,
// metrics.jsonl or checkpoints of an earlier one.
#include "sparsetrain/cli/config.h"
#include "sparsetrain/collective/comm.h"

namespace sparsetrain::train {

// Throws (on every rank, same message) when train.run_dir holds the results of an earlier
// run (model.h5, a non-empty metrics.jsonl, checkpoints) and this run neither resumes from
// its checkpoints (checkpoint.resume = auto) nor has train.overwrite set. With overwrite and
// no resume, the earlier model.h5 is deleted now, so the directory never pairs one run's
// model with another run's metrics. Collective: rank 0 looks, every rank gets the verdict.
void claim_run_dir(const cli::Config& config, collective::Comm& comm);

}  // namespace sparsetrain::train
