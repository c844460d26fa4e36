#pragma once
// One training step on every rank, for both input-table modes: forward + backward, the
// replicated blocks' gradient exchange and update, and with a sharded input table the
// push of its gradient rows to their owners (who apply lazy Adam) together with the fetch
// of the next batch's rows (embedding/sharded_table.h). Trainer::run and the scaling
// benchmark both drive it, so the benchmark measures the trainer's own step.
//
// Sharded with model.embed_sparsity < 1, the next batch's rows depend on this step's update
// (its blocks are chosen from the updated block sums), so the step runs in order: push the
// gradient blocks (the owners apply Adam), the owners' new block sums to every rank, choose
// the next batch's blocks, fetch just those blocks of its rows. Only chosen blocks travel.
#include <cstdint>
#include <memory>
#include <vector>

#include "sparsetrain/collective/comm.h"
#include "sparsetrain/collective/gradient_exchange.h"
#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/embedding/sharded_table.h"
#include "sparsetrain/model/network.h"
#include "sparsetrain/optim/optimizer.h"

namespace sparsetrain::train {

// This rank's share of a global batch, and where it sits in the global batch.
struct GlobalBatch {
  data::Batch batch;
  size_t rows = 0;                  // this rank's rows
  uint64_t total = 0;               // rows over all ranks (scales the loss)
  uint64_t before_me = 0;           // rows of lower ranks (with the step's first sample index: top-up seeds)
  embedding::BatchRows table_rows;  // sharded table only: the rows this batch reads
  // Sharded with model.embed_sparsity < 1: each sample's chosen blocks (Network::choose_input_blocks),
  // whose rows of 16 floats table_rows plans.
  std::vector<uint32_t> chosen;
};

// Thread CPU seconds per phase on this rank (util/cpu_time.h), summed over steps.
struct StepTimes {
  double compute = 0;   // forward + backward
  double exchange = 0;  // replicated blocks: header, pack, collectives, merge (wall)
  double apply = 0;     // optimizer on the replicated blocks (and, replicated, on the table)
  double plan = 0;      // sharded: de-duplicating the next batch's ids (embed_sparsity < 1: choosing its blocks first)
  double rebuild = 0;   // LSH tables
  double block_sums = 0;  // embed_sparsity < 1: the updated rows' block sums (sharded: + placing the owners')
};

class StepEngine {
 public:
  StepEngine(collective::Comm& comm, model::Network& net, const optim::OptimizerOptions& opt,
             collective::ExchangeMode exchange);
  ~StepEngine();
  bool sharded() const { return table_ != nullptr; }

  // Before the first step: a sharded table fetches the first batch's rows. Collective.
  void start(GlobalBatch& first);
  // Step `step` (1-based) on `cur`; `next` is the batch of the following step (read
  // already, so its rows can be fetched in the same rounds), or null after the last.
  // sample_base: global samples before this step. Collective.
  void step(uint64_t step, uint64_t sample_base, GlobalBatch& cur, GlobalBatch* next, model::StepStats& window);

  const optim::Optimizer& optimizer() const { return optimizer_; }
  const collective::GradientExchange& exchange() const { return exchange_; }
  const embedding::ShardedTable* table() const { return table_.get(); }
  const StepTimes& times() const { return times_; }
  // Bytes this rank sent: replicated exchange + sharded table.
  uint64_t bytes_sent() const;

 private:
  collective::Comm& comm_;
  model::Network& net_;
  optim::Optimizer optimizer_;
  collective::GradientExchange exchange_;
  std::unique_ptr<embedding::ShardedTable> table_;
  std::vector<model::BlockGrad> grads_;
  std::vector<collective::GradSlot> slots_;
  StepTimes times_;

  // Sharded table: plans the rows `b` reads (table_rows.h), timed as StepTimes::plan.
  void plan(GlobalBatch& b);
  // embed_sparsity < 1, sharded: the owners' new block sums of the rows the last push updated,
  // to every rank.
  void share_updated_block_sums();
};

// Reads this rank's next share of the global batch (local_batch rows), sums the row
// counts over ranks, and moves to the next epoch when every rank's shard ran dry.
// Returns false when the last epoch is done. Collective. read_seconds += time reading.
bool read_global_batch(data::CriteoReader& reader, collective::Comm& comm, size_t local_batch, int epochs, int& epoch,
                       GlobalBatch& out, double& read_seconds);

}  // namespace sparsetrain::train
