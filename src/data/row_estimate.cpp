#include "sparsetrain/data/row_estimate.h"

#include <cmath>

#include "sparsetrain/data/line_source.h"

namespace sparsetrain::data {

namespace {

// Reads at most sample_bytes (uncompressed) of one file: its line count when that reached
// the end, else the count scaled by the file's size over the bytes on disk read so far.
RowEstimate estimate_file(const InputFile& file, size_t index, uint64_t sample_bytes) {
  ShardPiece whole;
  whole.file = index;
  whole.end = file.size;
  // A small block keeps the bytes read ahead of the last counted line (which the disk
  // offset of a gzip stream includes) a small part of the sample.
  LineSource source(file, whole, size_t{64} << 10);
  const char* line = nullptr;
  size_t len = 0;
  uint64_t lines = 0;
  while (source.next(line, len) != LineSource::Status::End) {
    ++lines;
    if (source.next_offset() < sample_bytes) continue;
    const uint64_t read = source.disk_offset();
    if (read >= file.size) continue;  // all of it is read or buffered: count the rest
    const double rows = static_cast<double>(lines) * static_cast<double>(file.size) / static_cast<double>(read);
    return {static_cast<uint64_t>(std::llround(rows)), false};
  }
  return {lines, true};
}

}  // namespace

RowEstimate estimate_rows(const std::vector<InputFile>& files, uint64_t sample_bytes) {
  RowEstimate total;
  for (size_t i = 0; i < files.size(); ++i) {
    const RowEstimate one = estimate_file(files[i], i, sample_bytes);
    total.rows += one.rows;
    total.exact = total.exact && one.exact;
  }
  return total;
}

}  // namespace sparsetrain::data
