#pragma once
// Replica check for data-parallel training: every rank should hold bit-identical
// parameters and optimizer state after every step. A 64-bit hash of the raw bits of
// each block (weights, Adam moments, per-row step counters) is compared across
// ranks with two small allreduces (min and max); any difference, even one ulp in one
// moment, fails the check with the names of the blocks that differ.
#include <cstdint>
#include <vector>

#include "sparsetrain/collective/comm.h"
#include "sparsetrain/optim/param_block.h"

namespace sparsetrain::collective {

// Hash of a block's state bits (its arrays: optim::block_arrays), independent of the machine.
uint64_t block_state_hash(const optim::ParamBlock& block);

// Sum over the rows this process holds of a hash of each row's state (its row of every
// array in optim::block_arrays) keyed by its global row: summed over the owners of a sharded table it equals the
// same sum over a replicated copy, so runs in the two modes can be compared.
uint64_t rows_state_hash(const optim::ParamBlock& block);

// Throws std::runtime_error (on every rank) naming the step and the blocks whose
// replicated state differs between ranks. A sharded block is not compared (its ranks
// hold different rows); instead every row-wise block (lazy, or sharded) gets its table
// hash, rows_state_hash summed over the owners, returned in block order (0 for others),
// the same on every rank. Collective: every rank must call it.
std::vector<uint64_t> verify_replicas(Comm& comm, const std::vector<optim::ParamBlock>& blocks, uint64_t step);

}  // namespace sparsetrain::collective
