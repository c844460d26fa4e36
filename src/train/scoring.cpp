#include "sparsetrain/train/scoring.h"

#include <vector>

#include "sparsetrain/embedding/sharded_table.h"
#include "sparsetrain/train/table_rows.h"

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
  std::vector<uint32_t> chosen;         // model.embed_sparsity < 1: each sample's blocks, whose rows alone travel
  complete_block_sums(network, table);  // a model just loaded
  bool done = false;
  for (;;) {
    const size_t n = done ? 0 : next(batch);
    done = n == 0;
    if (done) batch.resize(0, false);                     // a rank that is done still serves its rows: it asks for none
    if (comm.sum(static_cast<uint64_t>(n)) == 0) return;  // every rank is done
    plan_table_rows(network, batch, embed.shard, chosen, rows);
    table.fetch(rows);
    if (done) continue;
    const model::EmbedRows view = fetched_rows(network, rows, chosen);
    probs.resize(n);
    network.infer(batch, probs.data(), &view);
    sink(batch, probs.data());
  }
}

}  // namespace sparsetrain::train
