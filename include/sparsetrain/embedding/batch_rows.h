#pragma once
// One local batch's view of a sharded input table: its distinct feature ids, the slot
// (index among them) of every feature of every sample, and how they split over the
// owners. No MPI here; ShardedTable moves the rows.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sparsetrain/optim/row_shard.h"

namespace sparsetrain::embedding {

// Slots are numbered owner-major: rank 0's ids first, then rank 1's, ..., each owner's in id
// order. So the rows the owners send back, concatenated in rank order, are the slot-ordered
// row cache as they arrive, and the network's gradient rows (in slot order) are already
// grouped by owner for the push. The numbering changes no arithmetic: a sample still adds
// its rows in feature order, and a row still sums its samples in sample order.
struct BatchRows {
  std::vector<uint32_t> ids;           // sorted, distinct feature ids of the batch
  std::vector<uint32_t> by_slot;       // the same ids by slot (owner-major)
  std::vector<uint32_t> sorted_slots;  // per sorted id (ids[i]): its slot
  std::vector<uint32_t> slots;         // per feature position: its slot
  std::vector<uint64_t> per_owner;     // per rank: how many of the ids it owns (its run of slots)
  std::vector<float> rows;             // size() x cols: the rows by slot, once fetched (stale before)
  // The features grouped by slot, for the backward (model::EmbedRows): slot s's samples
  // (position / 39) are slot_samples[slot_start[s] .. slot_start[s + 1]), in position order.
  std::vector<uint32_t> slot_start, slot_samples;

  // Plans the n feature ids of a batch (n < 2^32) for a table split as `shard` says.
  // features_per_sample: a feature at position p belongs to sample p / features_per_sample.
  void plan(const uint32_t* feature_ids, size_t n, const optim::RowShard& shard, uint32_t features_per_sample);
  // model.embed_sparsity < 1: the table is stored in rows of blocks (table row id * blocks + b)
  // and sample s reads, for each of its `chosen` blocks chosen[s * per_sample_blocks + k]
  // (distinct), that block's row of each of its features feature_ids[s * features_per_sample + j].
  // The same result as plan() over those rows laid out per sample, chosen block, feature
  // ((s * per_sample_blocks + k) * features_per_sample + j), except that slot_start and
  // slot_samples stay empty (the network groups its gradient itself). Several times cheaper:
  // the ids are de-duplicated first, then each id's blocks are marked in a bitset.
  void plan_blocks(const uint32_t* feature_ids, size_t samples, uint32_t features_per_sample, const uint32_t* chosen,
                   size_t per_sample_blocks, uint32_t blocks, const optim::RowShard& shard);
  size_t size() const { return ids.size(); }

 private:
  void find_distinct(const uint32_t* feature_ids, size_t n);
  void sort_distinct();  // keys_: (id << 32 | first-appearance index), by id
  void number_slots(const optim::RowShard& shard);
  void number_by_owner(const optim::RowShard& shard);  // sorted_slots, by_slot, per_owner for the sorted ids
  void group_by_slot(uint32_t features_per_sample);
  // plan_blocks' stages: each distinct id's chosen blocks as bits, then the rows they make.
  void mark_blocks(size_t samples, uint32_t features_per_sample, const uint32_t* chosen, size_t per_sample_blocks,
                   size_t words);
  void list_block_rows(uint32_t blocks, size_t words, const optim::RowShard& shard);

  struct Entry {
    uint32_t id, index;  // index UINT32_MAX: empty
  };
  std::vector<Entry> table_;            // id -> first-appearance index
  std::vector<uint32_t> seen_, count_;  // distinct ids in first-appearance order; their counts
  std::vector<uint32_t> first_;         // per position: its id's first-appearance index
  std::vector<uint64_t> keys_, tmp_;    // (id, index) radix-sorted by id
  std::vector<uint32_t> scratch_, slot_of_, cursor_;
  std::vector<uint32_t> rank_of_;      // plan_blocks: first-appearance index -> rank among the sorted ids
  std::vector<uint64_t> bits_, mask_;  // plan_blocks: per sorted id, its blocks; one sample's blocks
  std::vector<uint32_t> bits_before_;  // plan_blocks: per sorted id and word, set bits before it
};

}  // namespace sparsetrain::embedding
