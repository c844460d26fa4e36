#pragma once
// Which part of the input each rank reads, so that N ranks together read every row
// exactly once: whole files when there are at least as many files as ranks
// (balanced by size), otherwise line-aligned byte ranges of each plain file and a
// row stride (every N-th line) of each gzip file, which cannot be split by bytes.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace sparsetrain::data {

// A missing or unreadable input, a truncated stream in fail mode, a malformed row in
// fail mode: the message names the file (and line/field where there is one).
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct InputFile {
  std::string path;
  uint64_t size = 0;  // bytes on disk
  bool gzip = false;  // by its magic bytes (1f 8b), not by its name
};

// Expands comma-separated paths and globs (in the given order; each glob sorted).
// Throws DataError naming the pattern or path when something matches no readable regular
// file (pipes, FIFOs and devices are refused: they have no size or byte offsets).
std::vector<InputFile> expand_inputs(const std::string& patterns);

struct ShardPiece {
  size_t file = 0;     // index into the input list
  uint64_t begin = 0;  // plain files: the lines that START in [begin, end) are ours
  uint64_t end = 0;
  uint32_t stride = 1;  // keep lines with (line_index % stride) == phase
  uint32_t phase = 0;
};

std::vector<ShardPiece> plan_shard(const std::vector<InputFile>& files, int rank, int nranks);

}  // namespace sparsetrain::data
