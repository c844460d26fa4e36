#pragma once
// Checksums that let a checkpoint reader tell a damaged file from a good one: HDF5
// (without chunked filters) stores raw bytes, so a flipped or zeroed block would
// otherwise load silently. Not cryptographic; fast enough to run on every save and load.
#include <cstddef>
#include <cstdint>
#include <string>

namespace sparsetrain::checkpoint {

// 64-bit checksum of `bytes` bytes. The data is cut into fixed 4 MiB blocks hashed in
// parallel (OpenMP) with four xxHash64-style lanes each, and the block hashes are
// folded in order, so the value depends on the bytes only, never on the thread count.
uint64_t checksum64(const void* data, size_t bytes);

// Checksum of a table that several ranks hold parts of (format 3 checkpoints): the sum,
// modulo 2^64, of one hash per row keyed by its global row, so each rank hashes its own
// rows (row_hash_sum), the partial sums add up over ranks in any order, and
// finish_row_checksum gives the same value whoever held which rows.
uint64_t row_hash_sum(const void* rows, uint64_t n, size_t row_bytes, uint64_t first_global, uint64_t global_stride);
uint64_t finish_row_checksum(uint64_t sum, uint64_t global_rows, size_t row_bytes);

// As written into the files: 16 lowercase hex digits.
std::string checksum_hex(uint64_t value);

}  // namespace sparsetrain::checkpoint
