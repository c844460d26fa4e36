#pragma once
// The checkpoint directory of a run: <train.run_dir>/checkpoints/ckpt-<step>.h5, the
// step zero-padded to 12 digits so names sort by step. Temporary files being written
// are named ckpt-<step>.h5.tmp.<pid>; a checkpoint found unusable on resume is renamed
// to ckpt-<step>.h5.bad (kept for inspection, never picked again).
#include <cstdint>
#include <string>
#include <vector>

namespace sparsetrain::checkpoint {

std::string checkpoint_dir(const std::string& run_dir);
std::string checkpoint_path(const std::string& dir, uint64_t step);

struct CheckpointEntry {
  uint64_t step = 0;
  std::string path;
};
// ckpt-<digits>.h5 files of `dir`, newest (highest step) first; none when dir is missing.
std::vector<CheckpointEntry> list_checkpoints(const std::string& dir);

// Keeps the `keep` newest checkpoints with step <= newest_step and deletes older ones.
// `newest_step` must name the checkpoint just written: it is opened first (format and
// complete marker) and nothing is deleted unless it is good, so the last good
// checkpoint is never removed. Returns the deleted paths.
std::vector<std::string> rotate_checkpoints(const std::string& dir, int keep, uint64_t newest_step);

// Renames a bad checkpoint to <path>.bad, or <path>.bad.1, .bad.2, ... when that name is taken
// (a step rewritten after a resume can go bad again: an earlier quarantined file is evidence
// and is never replaced); returns the new name.
std::string quarantine_checkpoint(const std::string& path);

// Deletes ckpt-*.h5.tmp.* left by a writer that was killed; returns how many.
size_t remove_stale_temporaries(const std::string& dir);

}  // namespace sparsetrain::checkpoint
