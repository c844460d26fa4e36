#pragma once
// Training checkpoints: everything a killed job needs to continue exactly where it
// stopped, so that the resumed run ends with bitwise the same parameters as one that
// was never interrupted (same config, same rank count).
//
// File layout, format_version 3 (inspect with `h5ls -r` and `h5dump -A`); versions 1
// (float32 moments only) and 2 (whole-array checksums) still load into unsharded tables:
//   /                          attributes:
//       format = "sparsetrain-checkpoint", format_version = 2
//       step, samples          global steps done and training samples consumed
//       epoch                  0-based epoch the data cursors below belong to
//       nranks                 ranks of the job that wrote it
//       next_rebuild, rebuild_interval   LSH rebuild schedule position
//       elapsed_seconds        training wall time before this checkpoint
//       metrics_bytes          length of metrics.jsonl at this step (a resume cuts it there)
//       parameter_count, config (the resolved INI text: seeds, LSH and model settings)
//       created                UTC time of writing
//       complete = 1           written after every dataset: a file without it is rejected
//   /params/<block>/w, m, v    (a block's arrays, named and written in the order of
//                              optim::block_arrays, param_block.h)
//                              float32 [rows x cols]: weights, Adam first/second moments;
//                              m and v are uint16 [rows x cols] with attribute
//                              encoding = "bfloat16" (the upper 16 bits of each float) for a
//                              block with bfloat16 moments (optim.moments). A load converts
//                              when the run's setting differs from the file's: bfloat16 ->
//                              float32 exactly, float32 -> bfloat16 rounded to nearest
//   /params/<block>/last_step  uint32 [rows]: global step of each row's last update (lazy Adam)
//   /lsh/<block>/w             float32 [rows x cols]: every LSH-indexed layer's weights as
//                              of the last table rebuild; the tables are a pure function of
//                              them (and the seeds in config), so a load rebuilds the exact
//                              tables the uninterrupted run was using
//   /data                      attribute inputs: the expanded input paths, one per line
//   /data/input_sizes          uint64 [files]: their sizes (a resume refuses changed inputs)
//   /data/remainders           uint64 [n x 8], columns rank, file, begin, end, stride, phase,
//                              offset, line_index: every rank's unread shard pieces of the
//                              current epoch (data::PieceRemainder), in rank order
//   /train/window_loss_sum     float64 [nranks]: each rank's loss sum since the last metrics line
//   /train/window_samples      uint64 [nranks]: and its sample count
// Every dataset has a `checksum` attribute (util/checksum.h, 16 hex digits) checked on load:
// under /params the sum of per-row hashes keyed by global row (row_hash_sum; version 3),
// so ranks holding different rows of a sharded table add up their parts; elsewhere, and
// in older versions, checksum64 of the whole array. The tables are whole (global rows)
// whatever wrote them: a sharded run writes each rank's strided rows into the same
// datasets (parallel HDF5), so a file does not depend on the mode or the rank count.
// There is no other RNG state: LSH top-ups are derived from (seed, step, sample) and the
// optimizer's only state is the step.
//
// Writes are atomic: a temporary file in the same directory, `complete` last, flush,
// fsync, rename, fsync of the directory (util/commit_file.h).
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "sparsetrain/checkpoint/table_snapshot.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/model/network.h"

namespace sparsetrain::checkpoint {

inline constexpr int kCheckpointFormatVersion = 3;
inline constexpr int kOldestReadableCheckpointVersion = 1;  // float32 moments only

// A checkpoint that cannot be used: missing, truncated, incomplete, damaged or written
// for another model shape. The message names the file and what is wrong.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One row of /data/remainders.
struct DataRemainder {
  uint64_t rank = 0, file = 0, begin = 0, end = 0, stride = 1, phase = 0, offset = 0, line_index = 0;
  bool operator==(const DataRemainder&) const = default;
};

// Everything but the network's own arrays.
struct TrainState {
  uint64_t step = 0, samples = 0, epoch = 0, nranks = 1;
  uint64_t next_rebuild = 0;    // Network::next_rebuild()
  double rebuild_interval = 0;  // Network::rebuild_interval()
  double elapsed_seconds = 0;
  uint64_t metrics_bytes = 0;
  std::string config_ini;
  std::vector<std::string> inputs;
  std::vector<uint64_t> input_sizes;
  std::vector<DataRemainder> remainders;
  std::vector<double> window_loss_sum;   // per rank
  std::vector<uint64_t> window_samples;  // per rank
  bool operator==(const TrainState&) const = default;
};

// Writes `path` atomically.
// With a sharded input table and `comm`, every rank calls it: each writes its own rows of
// /params/embed (parallel HDF5); `state` must be the same on every rank.
void save_checkpoint(const std::string& path, const model::Network& network, const TableSnapshot& tables,
                     const TrainState& state, collective::Comm* comm = nullptr);

// Checks format, version and the complete marker without reading any array.
TrainState read_checkpoint_state(const std::string& path);

// Loads parameters, optimizer state and rebuild schedule into `network` (built from the
// same config) and the table source weights into `tables`, verifying every checksum.
// Throws CheckpointError; on error `network` may be partly overwritten.
// With a sharded input table every rank calls it with `comm` and reads its own rows (the
// file's stride for this rank count, whatever count wrote it); the sharded arrays'
// checksums are summed over ranks, so every rank reaches the same verdict.
TrainState load_checkpoint(const std::string& path, model::Network& network, TableSnapshot& tables,
                           collective::Comm* comm = nullptr);

// The same two on a file already open (e.g. from memory: H5File::open_image).
class H5File;
TrainState read_checkpoint_state(const H5File& file);
TrainState load_checkpoint(const H5File& file, model::Network& network, TableSnapshot& tables,
                           collective::Comm* comm = nullptr);

// The small state as bytes (to broadcast it from the rank that read the file).
std::string encode_state(const TrainState& state);
TrainState decode_state(const std::string& bytes);

}  // namespace sparsetrain::checkpoint
