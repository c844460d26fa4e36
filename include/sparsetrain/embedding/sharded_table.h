#pragma once
// The row-sharded input table (dist.embedding = sharded): rank r holds the rows
// g with g % P == r, with their Adam moments and step counters, and nothing else of
// the table. A step, pipelined so it costs one small alltoall of counts and two
// alltoallv rounds:
//   round A: every rank sends each owner its gradient rows of step t (summed over its
//            own samples; the owner knows which ids, it served them) and the ids it
//            needs for step t + 1;
//   the owner sums each row's contributions in rank order (collective::merge_rows, the
//            replicated exchange's own merge, so the same bits) and applies lazy Adam to
//            its rows;
//   round B: the owner sends back the requested rows, already updated by step t.
// So with one thread per rank a sharded run ends bitwise equal to the replicated run.
#include <cstdint>
#include <functional>
#include <vector>

#include "sparsetrain/collective/comm.h"
#include "sparsetrain/embedding/batch_rows.h"
#include "sparsetrain/optim/optimizer.h"
#include "sparsetrain/optim/param_block.h"

namespace sparsetrain::embedding {

// Per rank, summed over steps. Seconds are this thread's CPU time (util/cpu_time.h), so
// waiting for oversubscribed peers does not count; wire_s is wall time inside MPI calls.
struct ShardStats {
  uint64_t steps = 0;
  uint64_t rows_requested = 0;            // distinct ids this rank asked for (own rows included)
  uint64_t rows_pushed = 0;               // gradient rows sent (own rows included)
  uint64_t rows_applied = 0;              // rows this owner updated
  uint64_t rows_merged = 0;               // gradient rows this owner summed (every rank's, own included)
  uint64_t rows_served = 0;               // rows this owner sent back to requesters (own included)
  uint64_t bytes_sent = 0, messages = 0;  // to other ranks; messages = non-empty peer blocks
  uint64_t values_shared = 0;             // row values this owner sent to every rank (replicate_*)
  double plan_s = 0;                      // de-duplicating the batch's ids (BatchRows::plan, counted by the caller)
  double pack_s = 0;                      // packing gradient rows and requests
  double merge_s = 0;                     // owner: summing the contributions
  double apply_s = 0;                     // owner: lazy Adam on its rows
  double fetch_s = 0;                     // owner: packing the requested rows; requester: placing them
  double wire_s = 0;                      // wall time in the collectives
  double values_s = 0;                    // replicate_*: packing and placing the values
};

// What an owner does with the summed gradient of its rows (rows as local indices): lazy
// Adam when training; the SMPI scaling driver stands in a modeled cost for it.
using OwnerUpdate = std::function<void(optim::ParamBlock& local, const optim::SparseGrad& summed)>;

class ShardedTable {
 public:
  // `local` holds this rank's rows (ParamBlock::allocate_shard with {rows, rank, P}).
  ShardedTable(collective::Comm& comm, optim::ParamBlock& local);

  // Rows of `next` without an update (the first step; evaluation). Collective.
  void fetch(BatchRows& next);
  // This step's gradient of `cur` (grad.rows are cur's slots, every one of them, in slot
  // order) to the owners, who sum and apply `opt`; then `next`'s rows come back updated
  // (null on every rank: this was the last step, or the caller fetches later with fetch()).
  // Collective: every rank calls it in the same step.
  void push_and_fetch(const BatchRows& cur, const optim::SparseGrad& grad, const optim::Optimizer& opt,
                      BatchRows* next);
  // The same with any owner update in place of the optimizer.
  void push_and_fetch(const BatchRows& cur, const optim::SparseGrad& grad, const OwnerUpdate& update, BatchRows* next);

  // The local rows the last push_and_fetch updated (this owner's, as local indices).
  const std::vector<uint32_t>& applied_rows() const { return merged_.rows; }

  // A value per global row that every rank keeps (model.embed_sparsity's block sums): `values`
  // has global_rows entries, and each owner has written those of its own rows. Afterwards
  // every rank has every owner's entries. Collective: one allgatherv.
  void replicate_row_values(float* values);
  // The same for the rows the last push_and_fetch updated (their owners wrote their entries):
  // one allgatherv of (row, value) pairs. Collective.
  void replicate_updated_row_values(float* values);

  const ShardStats& stats() const { return stats_; }
  ShardStats& stats() { return stats_; }
  const optim::RowShard& shard() const { return block_.shard; }

 private:
  // The alltoall of request counts; returns how many ids each rank will ask this one for.
  std::vector<uint64_t> request_counts(const BatchRows* next);
  // Stores the ids each rank asked for (checked to be this rank's rows): counts[r] words
  // after grad_words[r] gradient words in rank r's block of `words`.
  void take_requests(const uint32_t* words, const std::vector<uint64_t>& counts,
                     const std::vector<uint64_t>& grad_words);
  // Round B: the served rows back to their requesters, into next->rows.
  void reply(BatchRows* next);
  // Sums the gradient rows at the start of each rank's block (block_words[r] words each)
  // and applies `update` to the owned rows.
  void apply_owned(const OwnerUpdate& update, const std::vector<uint64_t>& block_words);
  void count_sent(const std::vector<uint64_t>& words);

  collective::Comm& comm_;
  optim::ParamBlock& block_;
  const size_t cols_;
  std::vector<std::vector<uint32_t>> served_;  // per rank: the global ids it asked for last
  std::vector<uint32_t> send_, recv_;
  optim::SparseGrad merged_;
  ShardStats stats_;
};

}  // namespace sparsetrain::embedding
