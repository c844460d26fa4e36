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

// As written into the files: 16 lowercase hex digits.
std::string checksum_hex(uint64_t value);

}  // namespace sparsetrain::checkpoint
