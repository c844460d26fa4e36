#pragma once
// Replica check for data-parallel training: every rank should hold bit-identical
// parameters and optimizer state after every step. A 64-bit hash of the raw bits of
// each block (weights, Adam moments, per-row step counters) is compared across
// ranks with two small allreduces (min and max); any difference, even one ulp in one
// moment, fails the check with the names of the blocks that differ.
#include <cstdint>
#include <vector>

#include "sparsetrain/dist/comm.h"
#include "sparsetrain/optim/param_block.h"

namespace sparsetrain::dist {

// Hash of a block's state bits (w, m, v, last_step), independent of the machine.
uint64_t block_state_hash(const optim::ParamBlock& block);

// Throws std::runtime_error (on every rank) naming the step and the blocks whose
// state differs between ranks. Collective: every rank must call it.
void verify_replicas(Comm& comm, const std::vector<optim::ParamBlock>& blocks, uint64_t step);

}  // namespace sparsetrain::dist
