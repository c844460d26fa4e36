#pragma once
// Which rows of a table this process holds. A replicated table holds all of them
// (count = 1); a sharded one (dist.embedding = sharded) holds global row g on rank
// g % count at local index g / count. The same stride is the HDF5 hyperslab a rank
// writes and reads, so resharding on resume is reading another stride.
#include <cstdint>

namespace sparsetrain::optim {

struct RowShard {
  uint64_t global_rows = 0;
  uint32_t rank = 0, count = 1;

  static RowShard whole(uint64_t rows) { return {rows, 0, 1}; }
  bool sharded() const { return count > 1; }
  // Rows held here: the g < global_rows with g % count == rank.
  uint64_t local_rows() const { return global_rows > rank ? (global_rows - rank + count - 1) / count : 0; }
  uint32_t owner(uint64_t g) const { return static_cast<uint32_t>(g % count); }
  uint64_t local(uint64_t g) const { return g / count; }
  uint64_t global(uint64_t local_row) const { return local_row * count + rank; }
  bool operator==(const RowShard&) const = default;
};

}  // namespace sparsetrain::optim
