#pragma once
// The training loop (SPMD: every rank runs it on its own shard) and distributed evaluation.
#include <cstdint>
#include <iosfwd>
#include <string>

#include "sparsetrain/cli/config.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/model/network.h"
#include "sparsetrain/train/metrics.h"

namespace sparsetrain::train {

struct EvalResult {
  uint64_t rows = 0;
  double auc = 0, logloss = 0;
  bool exact_auc = true;
};

// Up to this many rows in all, the merged AUC is exact: every rank's scores and labels are
// gathered (8 bytes a row, on every rank). Above it, or when a rank scored more rows than its
// EvalAccumulator keeps (EvalAccumulator::kKeptRows), the AUC comes from the ranks' summed 2^20-bin histograms:
// within 1e-4 of the exact one on 100,000 scores (metrics_test), and reported as not exact.
inline constexpr uint64_t kExactAucRows = uint64_t{1} << 24;

// Merges the ranks' accumulators: rows, logloss and AUC, the same on every rank.
EvalResult merge_eval(EvalAccumulator& acc, collective::Comm& comm);

// Scores every labeled row of `inputs` (each rank its shard) and merges AUC and
// logloss over ranks (merge_eval); the result is the same on every rank.
EvalResult evaluate(model::Network& network, const cli::Config& config, const std::string& inputs,
                    collective::Comm& comm);

struct TrainSummary {
  uint64_t steps = 0, samples = 0;
  double seconds = 0, samples_per_second = 0;
  double cpu_seconds = 0;   // process CPU time over the loop (all threads)
  double read_seconds = 0;  // reading + parsing + featurizing batches (this run, rank 0's)
  double rebuild_seconds = 0, comm_seconds = 0;
  uint64_t comm_bytes = 0;
  double final_train_loss = 0;
  bool evaluated = false;
  EvalResult eval;
  uint64_t parameters = 0;
  uint64_t resumed_from_step = 0;  // > 0: continued from a checkpoint of this step
  int stop_signal = 0;             // != 0: stopped by this signal after writing a checkpoint
};

class Trainer {
 public:
  Trainer(const cli::Config& config, collective::Comm& comm);
  ~Trainer();
  TrainSummary run();
  model::Network& network() { return *network_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<model::Network> network_;
};

// Compact JSON of a summary (one line).
std::string to_json(const TrainSummary& s);

}  // namespace sparsetrain::train
