#include "sparsetrain/train/step_engine.h"

#include "sparsetrain/train/table_rows.h"
#include "sparsetrain/util/cpu_time.h"

namespace sparsetrain::train {
StepEngine::StepEngine(collective::Comm& comm, model::Network& net, const optim::OptimizerOptions& opt,
                       collective::ExchangeMode exchange)
    : comm_(comm), net_(net), optimizer_(opt), exchange_(comm, exchange) {
  if (net_.table_sharded())
    table_ = std::make_unique<embedding::ShardedTable>(comm_, net_.blocks()[net_.embed_block()]);
}

StepEngine::~StepEngine() = default;

uint64_t StepEngine::bytes_sent() const {
  return exchange_.stats().bytes_sent + (table_ ? table_->stats().bytes_sent : 0);
}

void StepEngine::start(GlobalBatch& first) {
  if (!table_) return;
  complete_block_sums(net_, *table_);
  plan(first);
  table_->fetch(first.table_rows);
}

void StepEngine::plan(GlobalBatch& b) {
  const double c0 = util::thread_cpu_seconds();
  plan_table_rows(net_, b.batch, table_->shard(), b.chosen, b.table_rows);
  times_.plan += util::thread_cpu_seconds() - c0;
}

void StepEngine::share_updated_block_sums() {
  const double c0 = util::thread_cpu_seconds();
  net_.embed_rows_updated(table_->applied_rows());
  times_.block_sums += util::thread_cpu_seconds() - c0;
  table_->replicate_updated_row_values(net_.block_sums().data());  // its own CPU: ShardStats::values_s
}

void StepEngine::step(uint64_t step, uint64_t sample_base, GlobalBatch& cur, GlobalBatch* next,
                      model::StepStats& window) {
  optimizer_.begin_step(step);
  double c0 = util::thread_cpu_seconds();
  const model::EmbedRows view = fetched_rows(net_, cur.table_rows, cur.chosen);
  net_.forward_backward(cur.batch, 1.0f / static_cast<float>(cur.total), step, sample_base + cur.before_me, grads_,
                        window, table_ ? &view : nullptr);
  times_.compute += util::thread_cpu_seconds() - c0;

  // The replicated blocks: one exchange (three collectives), then every rank updates them.
  auto& blocks = net_.blocks();
  const size_t embed = net_.embed_block();
  slots_.clear();
  for (size_t b = 0; b < blocks.size(); ++b) {
    if (table_ && b == embed) continue;
    slots_.push_back(grads_[b].sparse ? collective::GradSlot::of(grads_[b].sparse_grad, blocks[b].rows)
                                      : collective::GradSlot::of(grads_[b].dense_grad));
  }
  const double w0 = util::wall_seconds();
  exchange_.combine(slots_);
  times_.exchange += util::wall_seconds() - w0;
  c0 = util::thread_cpu_seconds();
  for (size_t b = 0; b < blocks.size(); ++b) {
    if (table_ && b == embed) continue;
    if (grads_[b].sparse)
      optimizer_.apply(blocks[b], grads_[b].sparse_grad,
                       b == embed ? optim::Optimizer::Rows::InputTable : optim::Optimizer::Rows::Other);
    else
      optimizer_.apply(blocks[b], grads_[b].dense_grad);
  }
  times_.apply += util::thread_cpu_seconds() - c0;
  if (!table_) {  // embed_sparsity < 1: the block sums of the updated rows (no-op otherwise)
    c0 = util::thread_cpu_seconds();
    net_.embed_rows_updated(grads_[embed].sparse_grad.rows);
    times_.block_sums += util::thread_cpu_seconds() - c0;
  }

  // The sharded table: gradient rows to their owners, the next batch's rows back.
  if (table_ && net_.embed_sparse()) {  // in order: the next choice needs this step's update
    table_->push_and_fetch(cur.table_rows, grads_[embed].sparse_grad, optimizer_, nullptr);
    share_updated_block_sums();
    if (next) {
      plan(*next);
      table_->fetch(next->table_rows);
    }
  } else if (table_) {
    if (next) plan(*next);
    table_->push_and_fetch(cur.table_rows, grads_[embed].sparse_grad, optimizer_, next ? &next->table_rows : nullptr);
  }
  if (net_.rebuild_due(step)) {
    c0 = util::thread_cpu_seconds();
    net_.rebuild(step);
    times_.rebuild += util::thread_cpu_seconds() - c0;
  }
}

bool read_global_batch(data::CriteoReader& reader, collective::Comm& comm, size_t local_batch, int epochs, int& epoch,
                       GlobalBatch& out, double& read_seconds) {
  const int P = comm.size(), rank = comm.rank();
  std::vector<uint64_t> rank_rows(static_cast<size_t>(P));
  for (;;) {
    const double t0 = util::wall_seconds();
    out.rows = reader.next_batch(out.batch, local_batch);
    read_seconds += util::wall_seconds() - t0;
    // Every rank's row count in one allreduce (each rank fills its own slot): the total
    // scales the loss, and the rows of lower ranks give this rank's first global sample
    // index, which seeds the LSH top-ups, so a sample's top-up does not depend on which
    // rank happens to process it.
    std::fill(rank_rows.begin(), rank_rows.end(), 0);
    rank_rows[static_cast<size_t>(rank)] = out.rows;
    comm.allreduce_sum(rank_rows.data(), rank_rows.size());
    out.total = out.before_me = 0;
    for (int r = 0; r < P; ++r) {
      if (r < rank) out.before_me += rank_rows[static_cast<size_t>(r)];
      out.total += rank_rows[static_cast<size_t>(r)];
    }
    if (out.total > 0) return true;
    if (++epoch >= epochs) return false;  // every rank finished its shard: next epoch, or done
    reader.rewind();
  }
}

}  // namespace sparsetrain::train
