#include "sparsetrain/train/scoring.h"

#include <vector>

#include "sparsetrain/embedding/sharded_table.h"

namespace sparsetrain::train {

void score_batches(model::Network& network, collective::Comm& comm, const std::function<size_t(data::Batch&)>& next,
                   const std::function<void(const data::Batch&, const float*)>& sink) {
  data::Batch batch;
  std::vector<float> probs;
  if (!network.table_sharded()) {
    while (size_t n = next(batch)) {
      probs.resize(n);
      network.infer(batch, probs.data());  // a row scores the same on any rank
      sink(batch, probs.data());
    }
    return;
  }
  optim::ParamBlock& embed = network.blocks()[network.embed_block()];
  embedding::ShardedTable table(comm, embed);
  embedding::BatchRows rows;
  // model.embed_sparsity < 1: each sample's blocks are chosen first, and only their rows travel.
  const bool blocks = network.embed_sparse();
  std::vector<uint32_t> chosen;
  if (blocks && network.block_sums_partial()) {  // just loaded: every owner's block sums to every rank
    table.replicate_row_values(network.block_sums().data());
    network.block_sums_completed();
  }
  bool done = false;
  for (;;) {
    const size_t n = done ? 0 : next(batch);
    done = n == 0;
    if (done) batch.resize(0, false);                     // a rank that is done still serves its rows: it asks for none
    if (comm.sum(static_cast<uint64_t>(n)) == 0) return;  // every rank is done
    if (blocks) {
      network.choose_input_blocks(batch, chosen);
      rows.plan_blocks(batch.ids.data(), batch.rows, data::Featurizer::kIdsPerRow, chosen.data(),
                       network.embed_active_blocks(), network.embed_blocks(), embed.shard);
    } else {
      rows.plan(batch.ids.data(), batch.ids.size(), embed.shard, data::Featurizer::kIdsPerRow);
    }
    table.fetch(rows);
    if (done) continue;
    model::EmbedRows view{rows.rows.data(), rows.slots.data()};
    if (blocks) view.chosen = chosen.data();
    probs.resize(n);
    network.infer(batch, probs.data(), &view);
    sink(batch, probs.data());
  }
}

}  // namespace sparsetrain::train
