#include "sparsetrain/collective/replica_check.h"

#include <stdexcept>
#include <string>

#include "sparsetrain/util/checksum.h"
#include "sparsetrain/util/hash.h"

namespace sparsetrain::collective {

// The hashing is util/checksum.h's (the checkpoint checksums'): checksum64 of each whole
// array, hash_bytes of each row's part of every array.

uint64_t block_state_hash(const optim::ParamBlock& b) {
  uint64_t h = util::hash64(b.rows, b.cols);
  for (const optim::ConstBlockArray& a : optim::block_arrays(b))
    h = util::hash64(util::checksum64(a.data, a.bytes()), h);
  return h;
}

uint64_t rows_state_hash(const optim::ParamBlock& b) {
  const auto arrays = optim::block_arrays(b);
  uint64_t sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
  for (long rl = 0; rl < static_cast<long>(b.rows); ++rl) {
    const size_t r = static_cast<size_t>(rl);
    uint64_t h = util::hash64(b.shard.global(r), 0x70775ULL);
    for (const optim::ConstBlockArray& a : arrays)
      h = util::hash_bytes(static_cast<const unsigned char*>(a.data) + r * a.row_bytes(), a.row_bytes(), h);
    sum += h;
  }
  return sum;
}

std::vector<uint64_t> verify_replicas(Comm& comm, const std::vector<optim::ParamBlock>& blocks, uint64_t step) {
  std::vector<uint64_t> lo(blocks.size()), hi(blocks.size()), rows(blocks.size(), 0);
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (blocks[i].shard.sharded()) {
      rows[i] = rows_state_hash(blocks[i]);  // each owner's rows: summed over ranks below
      lo[i] = hi[i] = blocks[i].shard.global_rows;
    } else {
      lo[i] = hi[i] = block_state_hash(blocks[i]);
      if (blocks[i].lazy && comm.is_root()) rows[i] = rows_state_hash(blocks[i]);
    }
  }
  comm.allreduce_sum(rows.data(), rows.size());
  comm.allreduce_min(lo.data(), lo.size());
  comm.allreduce_max(hi.data(), hi.size());
  std::string differ;
  for (size_t i = 0; i < blocks.size(); ++i)
    if (lo[i] != hi[i]) differ += (differ.empty() ? "" : ", ") + blocks[i].name;
  if (!differ.empty())
    throw std::runtime_error("replica check failed at step " + std::to_string(step) +
                             ": parameters or optimizer state differ across ranks in block(s) " + differ);
  return rows;
}

}  // namespace sparsetrain::collective
