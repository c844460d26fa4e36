#pragma once
// Combining gradients across ranks so every replica applies the same update.
//
// One exchange per step covers every parameter block with at most three
// collectives, however many blocks there are:
//   1. an allgather of a small header: each rank's touched-row count per sparse
//      block (plus a layout signature). Every rank then knows every count, so the
//      auto decision and all receive offsets are computed locally and identically.
//   2. one allgatherv of a packed buffer holding, per sparse-mode block, this rank's
//      row ids followed by its gradient rows (float bits); merged afterwards with
//      duplicate rows summed in rank order, so every rank gets bit-identical sums.
//   3. one allreduce of one buffer holding every dense block, and for a sparse block
//      in dense mode the full matrix plus a touched-row count per row (so lazy Adam
//      updates the same rows as in sparse mode).
// Auto: per sparse block and step, whichever moves fewer bytes per rank under the
// ring model (comm.h): sparse sends (P-1)/P * sum_r touched_r * (cols + 1) words,
// dense 2(P-1)/P * rows * (cols + 1); so sparse iff sum_r touched_r < 2 * rows (ties
// go dense, which needs no merge).
// The collectives are blocking: Open MPI made no progress on non-blocking ones while
// a rank computed (0% of the data moved in 50 ms without MPI calls), so overlapping
// them with other work saved nothing (bench_scaling_bench --bench.probe 1,
// scripts/COST_MODEL.md); Comm keeps the non-blocking calls for that probe.
#include <cstdint>
#include <string>
#include <vector>

#include "sparsetrain/collective/comm.h"
#include "sparsetrain/optim/param_block.h"

namespace sparsetrain::collective {

enum class ExchangeMode { Auto, Sparse, Dense };

// The path auto (or a fixed mode) takes for a sparse block whose touched rows,
// summed over all P ranks, number `touched_all_ranks`.
ExchangeMode choose_mode(ExchangeMode mode, uint64_t touched_all_ranks, uint64_t total_rows);

// One parameter block's gradient in a step's exchange.
struct GradSlot {
  optim::SparseGrad* sparse = nullptr;  // lazy block: sorted unique rows + values
  optim::DenseGrad* dense = nullptr;    // dense block
  size_t total_rows = 0;                // height of a sparse block
  static GradSlot of(optim::SparseGrad& g, size_t rows) { return {&g, nullptr, rows}; }
  static GradSlot of(optim::DenseGrad& g) { return {nullptr, &g, 0}; }
};

struct ExchangeStats {
  uint64_t steps = 0;
  uint64_t bytes_sent = 0;                             // what this rank put on the wire (ring model, comm.h)
  uint64_t collectives = 0;                            // MPI collectives started
  uint64_t sparse_exchanges = 0, dense_exchanges = 0;  // per sparse block and step: path taken
  // Sparse-path accounting, to compare the wire with the payload it carries:
  uint64_t sparse_bytes_sent = 0;         // header + packed allgatherv, ring model
  uint64_t sparse_payload_bytes = 0;      // ids + values of this rank's rows on the sparse path
  uint64_t sparse_dense_equiv_bytes = 0;  // what dense mode would have sent for those blocks
  uint64_t touched_payload_bytes = 0;     // ids + values of this rank's touched rows, all sparse blocks
  double seconds = 0;                     // whole exchange, merge included
  double wait_seconds = 0;                // the header allgather: tiny, so ~ waiting for the slowest rank
  double pack_seconds = 0;                // deciding and packing the send buffers (thread CPU time)
  double merge_seconds = 0;               // merging sparse rows, unpacking dense sums (thread CPU time)
};

class GradientExchange {
 public:
  GradientExchange(Comm& comm, ExchangeMode mode) : comm_(comm), mode_(mode) {}

  // Sums every slot over ranks, in place: a sparse slot then holds the union of the
  // touched rows (sorted) with summed values, a dense slot the summed matrix. All
  // ranks must pass the same blocks in the same order (checked: layout signature).
  void combine(const std::vector<GradSlot>& slots);

  // Single-block shorthands (one exchange each).
  void combine(optim::SparseGrad& g, size_t total_rows) { combine({GradSlot::of(g, total_rows)}); }
  void combine(optim::DenseGrad& g) { combine({GradSlot::of(g)}); }

  // Path of each sparse slot in the last exchange (Sparse or Dense), slot order.
  const std::vector<ExchangeMode>& last_decisions() const { return decisions_; }
  const ExchangeStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }

 private:
  // combine's stages, in the order it runs them.
  struct Plan {
    uint64_t dense_words = 0;         // dense_'s length
    uint64_t total_words = 0;         // recv_'s length: every rank's packed sparse words
    uint64_t payload_bytes = 0;       // this rank's ids + values on the sparse path
    uint64_t sparse_equiv_bytes = 0;  // what the dense path would carry for those slots
  };
  void check_slots();
  size_t gather_header(double t_begin);  // returns the header words per rank
  Plan choose_paths(size_t header_words);
  void pack(const Plan& plan);
  void unpack_and_merge(size_t header_words);

  Comm& comm_;
  ExchangeMode mode_;
  ExchangeStats stats_;
  // Buffers reused from step to step.
  std::vector<GradSlot> slots_;
  std::vector<ExchangeMode> decisions_;   // per sparse slot
  std::vector<uint64_t> header_;          // P x (1 + sparse slots)
  std::vector<uint64_t> words_per_rank_;  // packed allgatherv counts
  std::vector<uint32_t> send_, recv_;     // packed sparse buffers
  std::vector<float> dense_;              // fused allreduce buffer
};

}  // namespace sparsetrain::collective
