#pragma once
// How many rows the training files hold, for what must know a run's length before its first
// step (the learning-rate schedule). A pass over terabytes of logs to count them would cost
// minutes, so a file longer than sample_bytes is estimated from its head: the lines in its
// first sample_bytes (uncompressed) per byte read on disk, times its size on disk. Criteo's
// day files are homogeneous enough for a plain file's estimate to land within a fraction of
// a per cent. For gzip the bytes on disk are those zlib has consumed, which cover up to its
// 512 KiB output buffer beyond the last line counted: 6% low at an 8 MiB sample
// (tests/data/row_estimate_test.cpp), so about 1.5% at 32 MiB.
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
