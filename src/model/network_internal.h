#pragma once
// What network.cpp and sparse_input_layer.cpp (both Network's) share: the batch shape, the seed
// tags and the per-batch workspace. Internal to src/model.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sparsetrain/data/featurizer.h"
#include "sparsetrain/lsh/neuron_index.h"
#include "sparsetrain/model/network.h"
#include "sparsetrain/optim/param_block.h"

namespace sparsetrain::model {
namespace internal {

inline constexpr int kIds = data::Featurizer::kIdsPerRow;
inline constexpr int kDense = data::Featurizer::kDensePerRow;

// Sub-stream tags for util::derive_seed.
enum SeedTag : uint64_t { kSeedInit = 1, kSeedLsh = 2, kSeedTopUp = 3 };

}  // namespace internal

// Per-batch buffers, reused across steps (resized, never shrunk).
struct Network::Workspace {
  std::vector<float> h0;                        // B x D: sparse-input layer output (post-ReLU); B x embed_active
  std::vector<float> d0;                        // B x D: its delta                                when embed_sparse_
  std::vector<uint32_t> idx0;                   // embed_sparse_: B x embed_active, the outputs h0 holds
  std::vector<uint32_t> chosen;                 // embed_sparse_: B x embed_active_blocks_, ascending
  std::vector<float> fixed_sums;                // embed_sparse_: (1 + kDense) x blocks: bias, projection
  optim::SparseGrad input_ids;                  // embed_sparse_: the batch's input ids (rows only), grouped
  std::vector<uint32_t> id_block_start;         // embed_sparse_: per input id, its first gradient row
  std::vector<uint32_t> list_start, id_blocks;  // embed_sparse_: an id's distinct blocks (ids of several samples)
  const uint32_t* id_sample_start = nullptr;    // embed_sparse_: the batch's samples grouped by input id
  optim::SparseGrad slot_grad;                  // embed_sparse_ with fetched rows: the gradient in slot order
  const uint32_t* id_samples = nullptr;         //   (group_input_rows' row_start, row_samples)
  std::vector<std::vector<uint32_t>> idx;       // per layer: B x active, neuron ids
  std::vector<std::vector<float>> act;          // per layer: B x active, post-ReLU outputs
  std::vector<std::vector<float>> delta;        // per layer: B x active
  std::vector<float> logit, dlogit;             // B
  // Inverted index per layer: for neuron n, entries [start[n], start[n+1]) of `entry`
  // hold s*active + k for every sample s that computed n (at position k), in sample order.
  std::vector<std::vector<uint32_t>> inv_start, inv_entry;
  std::vector<uint64_t> id_pairs;        // (feature id << 24 | sample) sorted
  std::vector<uint64_t> id_pairs_tmp;    // radix sort buffer
  std::vector<uint32_t> scatter_counts;  // stable_counting_scatter's per-thread counts
  std::vector<uint32_t> pair_sample;     // sample of each sorted id pair (row list for the kernel)
  std::vector<uint32_t> row_start;       // per embed gradient row: its first pair
  std::vector<uint32_t> iota;            // 0, 1, 2, ...: "every row in order" for the row kernels
  std::vector<float> dense_col;          // one dense feature across the batch (contiguous coefficients)
  // Per-thread scratch.
  std::vector<lsh::QueryScratch> lsh_scratch;   // per thread x per layer (layer-major inside)
  std::vector<std::vector<uint32_t>> picked;    // per thread
  std::vector<std::vector<float>> dense_in;     // per thread: a sparse layer output scattered dense
  std::vector<std::vector<float>> block_score;  // per thread: embed_sparse_, each block's pre-activation
  std::vector<std::vector<float>> block_kth;    // per thread: embed_sparse_, scores being selected
};

}  // namespace sparsetrain::model
