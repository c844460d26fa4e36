#pragma once
// The trainer's side of checkpoints: when to write one (every checkpoint.every_steps,
// every checkpoint.every_minutes on rank 0's clock, at the end, and after SIGTERM /
// SIGUSR1), gathering every rank's data cursor for rank 0 to write, and resuming from
// the newest usable checkpoint of train.run_dir (checkpoint.resume = auto).
//
// A stop signal only sets a flag; the loop finishes its step, all ranks agree through a
// max-allreduce, write a checkpoint and `sparsetrain train` exits with status 85
// (kExitCheckpointedStop) so a batch script can requeue the job.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sparsetrain/checkpoint/checkpoint.h"
#include "sparsetrain/checkpoint/table_snapshot.h"
#include "sparsetrain/cli/config.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/model/network.h"

namespace sparsetrain::train {

inline constexpr int kExitCheckpointedStop = 85;

// One /data/remainders row of a checkpoint as the reader takes it (assign_remaining,
// replan_remainders).
data::PieceRemainder piece_remainder(const checkpoint::DataRemainder& r);

// The loop's own counters: what a checkpoint saves besides the network and the data cursors.
struct LoopState {
  uint64_t step = 0, samples = 0;
  int epoch = 0;
  double elapsed_seconds = 0;
  model::StepStats window;  // this rank's statistics since the last metrics line
};

class Checkpointing {
 public:
  // Installs the SIGTERM / SIGUSR1 handlers (restored by the destructor) and captures
  // the LSH tables' source weights of the freshly built network.
  Checkpointing(const cli::Config& config, collective::Comm& comm, model::Network& network);
  ~Checkpointing();
  Checkpointing(const Checkpointing&) = delete;
  Checkpointing& operator=(const Checkpointing&) = delete;

  // checkpoint.resume = auto: rank 0 loads the newest usable checkpoint (a damaged one is
  // reported, renamed to .bad, and the previous one tried), every rank receives the
  // parameters, the reader continues at the epoch's unread rows (re-split when the rank
  // count changed) and `loop` gets the saved counters. nullopt: starting fresh.
  std::optional<checkpoint::TrainState> resume(data::CriteoReader& reader, LoopState& loop);

  // Call right after every Network::rebuild: the tables' source weights for the next checkpoint.
  void after_rebuild() { tables_.capture(network_); }
  // The weights the current tables were built from (saved into model.h5 too).
  const checkpoint::TableSnapshot& tables() const { return tables_; }

  struct Decision {
    bool save = false;  // write a checkpoint after this step
    bool stop = false;  // then stop (a signal arrived on some rank)
    int signal = 0;     // which one
  };
  // After each step, on every rank: the same answer everywhere (one small allreduce).
  Decision poll(uint64_t step);

  // Writes the checkpoint of `loop.step` (collective: every rank's cursor goes to rank 0,
  // which writes and rotates). metrics_bytes: rank 0's metrics.jsonl length.
  // cursor: this rank's unread data when the step's batch had been read (the reader is one
  // batch further by now).
  void save(const LoopState& loop, const data::CriteoReader& reader, const std::vector<data::PieceRemainder>& cursor,
            uint64_t metrics_bytes);

  // Periodic checkpoints are on (every_steps or every_minutes); then one is also written at the end.
  bool periodic() const;
  std::optional<uint64_t> last_saved_step() const { return last_saved_; }

 private:
  // Resume of a sharded table: every rank loads its rows; returns resume()'s status line.
  std::string load_sharded(checkpoint::TrainState& state);
  // Resume of a replicated model, on rank 0: the newest usable checkpoint (an unusable one is
  // quarantined and the previous tried); the same status line.
  std::string load_replicated(checkpoint::TrainState& state);
  // checkpoint.resume = never: moves an earlier run's checkpoints aside (rank 0).
  void set_aside_old_checkpoints() const;
  // Gives every rank rank 0's state and, unless sharded, its arrays; restores the tables.
  void share_loaded_state(checkpoint::TrainState& state);
  // save() without restarting the checkpoint.every_minutes clock.
  void write(const LoopState& loop, const data::CriteoReader& reader, const std::vector<data::PieceRemainder>& cursor,
             uint64_t metrics_bytes);
  // What save() writes besides the arrays: the loop's counters, the inputs, and every rank's
  // cursor (8 numbers each) and loss window (2 each) as gathered.
  checkpoint::TrainState state_of(const LoopState& loop, const data::CriteoReader& reader,
                                  const std::vector<uint64_t>& cursors, const std::vector<uint64_t>& windows,
                                  uint64_t metrics_bytes) const;
  // Rank 0, after a save: rotates the old checkpoints and prints the file's size and speed.
  void report_saved(const std::string& path, uint64_t step, std::chrono::steady_clock::time_point t0) const;
  // The reader's remaining pieces (re-split when the rank count changed) and the loop's counters.
  void restore_position(const checkpoint::TrainState& state, data::CriteoReader& reader, LoopState& loop) const;

  const cli::Config& config_;
  collective::Comm& comm_;
  model::Network& network_;
  checkpoint::TableSnapshot tables_;
  std::string dir_;
  std::chrono::steady_clock::time_point last_time_;
  std::optional<uint64_t> last_saved_;
};

// Truncates rank 0's metrics.jsonl to what it held at the checkpoint (lines a killed run
// wrote after it would repeat steps), warning when it is shorter than that.
void truncate_metrics(const std::string& path, uint64_t bytes);

}  // namespace sparsetrain::train
