#include "sparsetrain/collective/replica_check.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "sparsetrain/util/hash.h"

namespace sparsetrain::collective {
namespace {

// Hash of n 32-bit words. Four independent lanes so the multiply latency does not
// serialise the loop (the check hashes the whole model, ~12 bytes per parameter).
uint64_t hash_words(const void* data, size_t n, uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t lane[4] = {seed, seed ^ 0x9e3779b97f4a7c15ULL, seed + 0x632be59bd9b4e019ULL, ~seed};
  constexpr uint64_t kMul = 0xff51afd7ed558ccdULL;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {  // 8 words = 4 lanes x 64 bits
    for (int l = 0; l < 4; ++l) {
      uint64_t w;
      std::memcpy(&w, p + (i + 2 * l) * 4, 8);
      lane[l] = (lane[l] ^ w) * kMul;
      lane[l] ^= lane[l] >> 29;
    }
  }
  uint64_t h = util::hash64(n, seed);
  for (int l = 0; l < 4; ++l) h = util::hash64(lane[l], h);
  for (; i < n; ++i) {
    uint32_t w;
    std::memcpy(&w, p + i * 4, 4);
    h = util::hash64(w, h);
  }
  return h;
}

// Hash of n 16-bit values (bfloat16 moments): whole 32-bit words, then a last half word.
uint64_t hash_halves(const uint16_t* data, size_t n, uint64_t seed) {
  uint64_t h = hash_words(data, n / 2, seed);
  return n % 2 ? util::hash64(data[n - 1], h) : h;
}

// Hash of n elements of array `a` starting at p, as its type lays them out.
uint64_t hash_elems(const optim::ConstBlockArray& a, const void* p, size_t n, uint64_t seed) {
  return a.type == optim::ElemType::Bfloat16 ? hash_halves(static_cast<const uint16_t*>(p), n, seed)
                                             : hash_words(p, n, seed);
}

}  // namespace

uint64_t block_state_hash(const optim::ParamBlock& b) {
  static_assert(sizeof(float) == 4 && sizeof(uint32_t) == 4);
  uint64_t h = util::hash64(b.rows, b.cols);
  for (const optim::ConstBlockArray& a : optim::block_arrays(b)) h = hash_elems(a, a.data, a.size, h);
  return h;
}

uint64_t rows_state_hash(const optim::ParamBlock& b) {
  const auto arrays = optim::block_arrays(b);
  uint64_t sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
  for (long rl = 0; rl < static_cast<long>(b.rows); ++rl) {
    const size_t r = static_cast<size_t>(rl);
    uint64_t h = util::hash64(b.shard.global(r), 0x70775ULL);
    for (const optim::ConstBlockArray& a : arrays) {
      const auto* row = static_cast<const unsigned char*>(a.data) + r * a.row_bytes();
      if (a.cols) {
        h = hash_elems(a, row, a.cols, h);
      } else {  // one value per row (last_step)
        uint32_t x;
        std::memcpy(&x, row, sizeof x);
        h = util::hash64(x, h);
      }
    }
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
