#pragma once
// Bulk hashing of arrays, one implementation for the checkpoint checksums (that let a
// reader tell a damaged file from a good one: HDF5 without chunked filters stores raw
// bytes, so a flipped or zeroed block would otherwise load silently) and the replica
// check's hashes of a parameter block's state (collective/replica_check.h). Not
// cryptographic; fast enough to run on every save, load and check.
#include <cstddef>
#include <cstdint>
#include <string>

namespace sparsetrain::util {

// Hash of `bytes` bytes under a seed: four xxHash64-style lanes over 32-byte stripes (so
// the multiplies of different lanes overlap), then the tail word by word and byte by
// byte. Serial; the building block of the functions below.
uint64_t hash_bytes(const void* data, size_t bytes, uint64_t seed);

// 64-bit checksum of `bytes` bytes. The data is cut into fixed 4 MiB blocks hashed in
// parallel (OpenMP) by hash_bytes (seed: the block's index), and the block hashes are
// folded in order, so the value depends on the bytes only, never on the thread count.
uint64_t checksum64(const void* data, size_t bytes);

// Checksum of a table that several ranks hold parts of (format 3 checkpoints): the sum,
// modulo 2^64, of one hash per row keyed by its global row, so each rank hashes its own
// rows (row_hash_sum), the partial sums add up over ranks in any order, and
// finish_row_checksum gives the same value whoever held which rows.
uint64_t row_hash_sum(const void* rows, uint64_t n, size_t row_bytes, uint64_t first_global, uint64_t global_stride);
uint64_t finish_row_checksum(uint64_t sum, uint64_t global_rows, size_t row_bytes);

// As written into checkpoint and model files: 16 lowercase hex digits.
std::string checksum_hex(uint64_t value);

}  // namespace sparsetrain::util
