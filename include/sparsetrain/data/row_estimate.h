#pragma once
// How many rows the training files hold, for what must know a run's length before its first
// step (the learning-rate schedule). A pass over terabytes of logs to count them would cost
// minutes, so a file longer than sample_bytes is estimated from its head: the lines in its
// first sample_bytes (uncompressed) per byte read on disk, times its size on disk; a gzip
// file's head is inflated here, so the lines counted are exactly those of the compressed bytes
// read. Criteo's day files are homogeneous enough for the estimate to land within a fraction
// of a per cent (tests/data/row_estimate_test.cpp: 8 MiB samples of a 31 MB file).
#include <cstdint>
#include <vector>

#include "sparsetrain/data/shard.h"

namespace sparsetrain::data {

struct RowEstimate {
  uint64_t rows = 0;  // physical lines (malformed ones included: a reader may skip those)
  bool exact = true;  // every file was read to its end
};

inline constexpr uint64_t kRowSampleBytes = uint64_t{32} << 20;

RowEstimate estimate_rows(const std::vector<InputFile>& files, uint64_t sample_bytes = kRowSampleBytes);

}  // namespace sparsetrain::data
