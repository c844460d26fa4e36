#include "sparsetrain/train/table_rows.h"

namespace sparsetrain::train {

void plan_table_rows(model::Network& net, const data::Batch& batch, const optim::RowShard& shard,
                     std::vector<uint32_t>& chosen, embedding::BatchRows& rows) {
  if (!net.embed_sparse()) {
    rows.plan(batch.ids.data(), batch.ids.size(), shard, data::Featurizer::kIdsPerRow);
    return;
  }
  net.choose_input_blocks(batch, chosen);
  rows.plan_blocks(batch.ids.data(), batch.rows, data::Featurizer::kIdsPerRow, chosen.data(), net.embed_active_blocks(),
                   net.embed_blocks(), shard);
}

void complete_block_sums(model::Network& net, embedding::ShardedTable& table) {
  if (!net.embed_sparse() || !net.block_sums_partial()) return;
  table.replicate_row_values(net.block_sums().data());
  net.block_sums_completed();
}

model::EmbedRows fetched_rows(const model::Network& net, const embedding::BatchRows& rows,
                              const std::vector<uint32_t>& chosen) {
  model::EmbedRows view{rows.rows.data(), rows.slots.data(), rows.size(), rows.slot_start.data(),
                        rows.slot_samples.data()};
  if (net.embed_sparse()) {
    view.chosen = chosen.data();
    view.sorted_slots = rows.sorted_slots.data();
  }
  return view;
}

}  // namespace sparsetrain::train
