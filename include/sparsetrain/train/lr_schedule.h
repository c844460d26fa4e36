#pragma once
// How long a training run's learning-rate schedule is, and what a resume changes in it.
#include <cstdint>
#include <string>
#include <vector>

#include "sparsetrain/cli/config.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/optim/optimizer.h"

namespace sparsetrain::train {

// A run's length in steps for optim.lr_schedule = linear: train.epochs x ceil(rows /
// train.batch_size). Not train.max_steps: that only stops a run, so one stopped there and
// resumed without it follows the schedule of a run that never stopped.
uint64_t run_length_steps(const cli::Config& config, uint64_t rows);
// The optimizer options of a training run over `files`, with the step where the linear
// schedule ends resolved; `description` gets one line saying how the rate runs and where its
// length came from. Rank 0 estimates the rows (data::estimate_rows, one head read per file)
// and broadcasts them, so every rank, and a resume on any rank count, has the same schedule.
// Collective.
optim::OptimizerOptions run_optimizer_options(const cli::Config& config, const std::vector<data::InputFile>& files,
                                              collective::Comm& comm, std::string& description);
// At a resume after `step`: a note when the checkpointed run (config `before`) would have
// trained step + 1 at another learning rate than this run (`now`) will, for example because
// train.epochs changed and moved the linear fall's end; "" when the rates agree. It names
// the optim.schedule_steps that keeps the checkpointed run's fall. Local (rank 0 prints it):
// it counts the rows of `files` again where a schedule's length depends on them.
std::string schedule_change_note(const cli::Config& before, const cli::Config& now,
                                 const std::vector<data::InputFile>& files, uint64_t step);

}  // namespace sparsetrain::train
