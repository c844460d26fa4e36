#pragma once
// One local batch's view of a sharded input table: its distinct feature ids, the slot
// (index among them) of every feature of every sample, and how they split over the
// owners. No MPI here; ShardedTable moves the rows.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sparsetrain/optim/row_shard.h"

namespace sparsetrain::embedding {

struct BatchRows {
  std::vector<uint32_t> ids;        // sorted, distinct feature ids of the batch
  std::vector<uint32_t> slots;      // per feature position: its index in ids
  std::vector<uint64_t> per_owner;  // per rank: how many of ids it owns
  std::vector<uint32_t> by_owner;   // indices into ids grouped by owner (rank order, id order inside)
  std::vector<float> rows;          // ids.size() x cols: the rows, once fetched (slot order)

  // Plans the n feature ids of a batch (n < 2^32) for a table split as `shard` says.
  // Slots are numbered in id order, so a network reading rows by slot adds them in the
  // same order, and its gradient rows come out in the same order, as with the ids.
  void plan(const uint32_t* feature_ids, size_t n, const optim::RowShard& shard);
  size_t size() const { return ids.size(); }
  void clear();

 private:
  std::vector<uint64_t> keys_, tmp_;
  std::vector<uint32_t> scratch_;
};

}  // namespace sparsetrain::embedding
