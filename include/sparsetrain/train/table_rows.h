#pragma once
// What a training step (step_engine.h) and scoring (scoring.h) both do with a sharded input
// table: plan the rows a batch reads, gather the owners' block sums after a load, and hand
// the fetched rows to the network.
#include <cstdint>
#include <vector>

#include "sparsetrain/data/featurizer.h"
#include "sparsetrain/embedding/batch_rows.h"
#include "sparsetrain/embedding/sharded_table.h"
#include "sparsetrain/model/network.h"
#include "sparsetrain/optim/row_shard.h"

namespace sparsetrain::train {

// The table rows `batch` reads, planned into `rows`: its feature ids' rows, or with
// model.embed_sparsity < 1 the rows of the blocks each sample chooses (into `chosen`) from
// the network's current weights.
void plan_table_rows(model::Network& net, const data::Batch& batch, const optim::RowShard& shard,
                     std::vector<uint32_t>& chosen, embedding::BatchRows& rows);

// model.embed_sparsity < 1: after a refresh that wrote only this rank's block sums
// (construction, loading weights), every owner's sums to every rank. No-op otherwise.
// Collective.
void complete_block_sums(model::Network& net, embedding::ShardedTable& table);

// The network's view of rows fetched as `rows` planned them (`chosen`: plan_table_rows').
model::EmbedRows fetched_rows(const model::Network& net, const embedding::BatchRows& rows,
                              const std::vector<uint32_t>& chosen);

}  // namespace sparsetrain::train
