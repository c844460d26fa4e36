#pragma once
// NeuronIndex: L hash tables over the weight rows of one layer's neurons, used
// to pick which neurons to compute for an input (SLIDE / BOLT-style sparse
// training).
//
// Storage: one contiguous array [table][bucket][capacity] of uint32 neuron ids
// plus a fill count per bucket. Memory of the buckets:
//     bytes = L * 2^K * bucket_capacity * 4
// (e.g. K=6, L=16, capacity 128 -> 512 KiB), plus 2 * L * 2^K * 4 bytes of
// counters and, during rebuild, num_neurons * L * 4 bytes of codes.
//
// When a bucket is full, insertion uses reservoir sampling (Algorithm R) driven
// by a counter-based RNG seeded from (seed, table, bucket), so each bucket keeps
// a uniform sample of the neurons hashed to it, and since inserts happen in
// neuron order the tables are a pure function of (config, weights).
//
// Queries are const and thread-safe; all their working memory lives in a
// per-thread QueryScratch (make_scratch()), so after the first call they do not
// allocate (as long as `out` has capacity).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "sparsetrain/lsh/hash_family.h"
#include "sparsetrain/util/random.h"

namespace sparsetrain::lsh {

// Per-thread reusable query buffers. A default-constructed scratch works too: it
// is sized on first use (that first call allocates).
struct QueryScratch {
  struct Mark {
    uint32_t stamp = 0;  // == epoch when the neuron was seen by the current query
    uint32_t count = 0;  // tables the neuron co-occurred in (valid when stamped)
  };
  std::vector<Mark> marks;  // num_neurons
  uint32_t epoch = 0;
  std::vector<uint32_t> codes;   // num_tables
  std::vector<uint32_t> seen;    // L*capacity slots: distinct candidates in first-seen order
  size_t found = 0;              //   in seen[0, found)
  std::vector<uint32_t> ranked;  // L*capacity slots: the best candidates, by count
  std::vector<uint32_t> counts;  // L*capacity slots: co-occurrence count of seen[k]
  std::vector<uint32_t> pool;    // unpicked neurons for dense top-ups (sized lazily)
};

class NeuronIndex {
 public:
  NeuronIndex(const LshConfig& config, size_t num_neurons);

  // Rebuilds all tables from the neurons' weight rows: row n is
  // weights[n*row_stride .. n*row_stride + input_dim). Hashes in parallel
  // (OpenMP), then fills each table in neuron order; the result does not
  // depend on the thread count.
  void rebuild(const float* weights, size_t row_stride);

  // Appends to `out` up to `target` distinct neuron ids for input x (input_dim
  // floats): the union of x's L buckets ranked by the number of tables each
  // neuron co-occurs in (more first; ties in first-seen order: table 0 first,
  // then bucket order), capped at target. If fewer than min(target,
  // num_neurons) were found, tops up with distinct uniformly random other
  // neurons drawn from `rng` (rng is only used then). Exactly
  // min(target, num_neurons) ids are appended.
  void query(const float* x, size_t target, util::Rng& rng, QueryScratch& scratch, std::vector<uint32_t>& out) const;

  QueryScratch make_scratch() const;

  size_t num_neurons() const { return num_neurons_; }
  const LshConfig& config() const { return config_; }
  const HashFamily& family() const { return *family_; }
  size_t table_size() const { return size_t{1} << config_.bits_per_table; }
  size_t memory_bytes() const { return buckets_.size() * sizeof(uint32_t); }

  // Neuron ids currently stored in bucket b of table t (at most bucket_capacity).
  std::span<const uint32_t> bucket(size_t table, size_t b) const {
    const size_t slot = table * table_size() + b;
    return {buckets_.data() + slot * capacity_, sizes_[slot]};
  }
  // Neurons offered to bucket (t, b) by the last rebuild (may exceed capacity).
  uint32_t bucket_offered(size_t table, size_t b) const { return offered_[table * table_size() + b]; }

 private:
  void top_up(size_t need, util::Rng& rng, QueryScratch& scratch, std::vector<uint32_t>& out) const;

  LshConfig config_;
  size_t num_neurons_ = 0;
  size_t capacity_ = 0;
  std::unique_ptr<HashFamily> family_;
  std::vector<uint32_t> buckets_;  // [table][bucket][capacity]
  std::vector<uint32_t> sizes_;    // [table][bucket]: ids stored (<= capacity)
  std::vector<uint32_t> offered_;  // [table][bucket]: ids offered by rebuild
  std::vector<uint32_t> codes_;    // rebuild scratch, [table][neuron]
};

}  // namespace sparsetrain::lsh
