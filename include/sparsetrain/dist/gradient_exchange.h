#pragma once
// Combining gradients across ranks so every replica applies the same update.
//
// Sparse mode: every rank contributes (row id, gradient row) pairs of the rows it
// touched; all ranks gather all pairs and merge them (duplicate rows summed in rank
// order, so every rank gets bit-identical sums). Dense mode: MPI_Allreduce of the
// full matrix plus a touched-row mask (so lazy Adam updates the same rows as in
// sparse mode). Auto: per block and step, whichever sends fewer bytes.
#include <cstdint>
#include <string>

#include "sparsetrain/dist/comm.h"
#include "sparsetrain/optim/param_block.h"

namespace sparsetrain::dist {

enum class ExchangeMode { Auto, Sparse, Dense };
ExchangeMode parse_exchange_mode(const std::string&);  // auto|sparse|dense

struct ExchangeStats {
  uint64_t bytes_sent = 0;   // payload this rank put on the wire (model: ring collectives)
  uint64_t sparse_exchanges = 0, dense_exchanges = 0;
  double seconds = 0;
  uint64_t touched_payload_bytes = 0;  // ids + values of the touched rows of this rank
};

class GradientExchange {
 public:
  GradientExchange(Comm& comm, ExchangeMode mode) : comm_(comm), mode_(mode) {}

  // Sums a sparse gradient over ranks, in place: afterwards `g` holds the union of
  // the touched rows (sorted) with summed values. `total_rows` is the block's height.
  void combine(optim::SparseGrad& g, size_t total_rows);
  // Sums a dense gradient over ranks, in place.
  void combine(optim::DenseGrad& g);

  const ExchangeStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }

 private:
  void combine_sparse(optim::SparseGrad& g);
  void combine_dense(optim::SparseGrad& g, size_t total_rows);

  Comm& comm_;
  ExchangeMode mode_;
  ExchangeStats stats_;
};

}  // namespace sparsetrain::dist
