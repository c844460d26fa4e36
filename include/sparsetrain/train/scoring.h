#pragma once
// Scoring batches with a trained network (evaluate, predict, evaluation during
// training), for both input-table modes. With a sharded table the rows of each batch
// are fetched from their owners first, so every rank must take part until all ranks'
// batches are done: ranks with nothing to score (predict's other ranks) still serve rows.
#include <cstddef>
#include <functional>

#include "sparsetrain/collective/comm.h"
#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/model/network.h"

namespace sparsetrain::train {

// next(batch) fills the next batch and returns its rows (0: this rank is done);
// sink(batch, probs) gets each batch's click probabilities (Network::infer).
// Collective when the network's input table is sharded.
void score_batches(model::Network& network, collective::Comm& comm, const std::function<size_t(data::Batch&)>& next,
                   const std::function<void(const data::Batch&, const float*)>& sink);

}  // namespace sparsetrain::train
