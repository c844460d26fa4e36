// Network's sparse-input layer with model.embed_sparsity < 1: choosing each sample's blocks of
// kEmbedBlock outputs from the block sums, keeping the sums exact, computing the chosen outputs
// (from the table, or from rows a sharded table fetched), and the table's gradient on the chosen
// blocks. The dense layer (embed_sparsity 1) and everything after it are in network.cpp.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>

#include "network_internal.h"
#include "sparsetrain/kernels/kernels.h"
#include "sparsetrain/model/network.h"
#include "sparsetrain/util/hash.h"
#include "sparsetrain/util/random.h"

namespace sparsetrain::model {

using namespace internal;  // NOLINT(google-build-using-namespace): the constants both files share

namespace {
// The first two cache lines of each of the kIds rows `ids` (row length n floats): the
// hardware prefetcher streams the rest of a row once its start is in flight.
void prefetch_row_starts(const float* table, size_t n, const uint32_t* ids) {
  for (int j = 0; j < kIds; ++j) {
    const char* row = reinterpret_cast<const char*>(table + static_cast<size_t>(ids[j]) * n);
    __builtin_prefetch(row);
    __builtin_prefetch(row + 64);
  }
}

// The sum of a block's kEmbedBlock weights, in column order: a block sum is a function of
// the block's weights alone, so the incremental update and a full refresh agree bitwise.
inline float block_sum(const float* w) {
  float s = 0.0f;
  for (size_t c = 0; c < kEmbedBlock; ++c) s += w[c];
  return s;
}

// The distinct blocks the samples `samples[0 .. n)` chose (`chosen`: A per sample), ascending.
// mark: per thread, nb entries; block b is seen in this call if mark[b] == stamp (unique per call).
void distinct_blocks(const uint32_t* chosen, size_t A, size_t nb, const uint32_t* samples, uint32_t n, uint32_t stamp,
                     std::vector<uint32_t>& mark, std::vector<uint32_t>& out) {
  out.clear();
  // A frequent id has usually seen every block after a few dozen of its samples: stop there.
  for (uint32_t e = 0; e < n && out.size() < nb; ++e)
    for (size_t k = 0; k < A; ++k) {
      const uint32_t b = chosen[samples[e] * A + k];
      if (mark[b] != stamp) {
        mark[b] = stamp;
        out.push_back(b);
      }
    }
  if (out.size() * 16 < nb) {  // few: sort them; many (a frequent id): read them off the marks in order
    std::sort(out.begin(), out.end());
  } else {
    out.clear();
    for (uint32_t b = 0; b < nb; ++b)
      if (mark[b] == stamp) out.push_back(b);
  }
}
}  // namespace

// A sharded table of rows of kEmbedBlock (embed_sparsity < 1): each model row's stream is drawn
// as the replicated fill draws it, up to the last of its blocks this rank owns, and those blocks
// are kept. Every rank draws (part of) every row: like the replicated fill, not 1/P of it.
void Network::fill_embed_blocks(optim::ParamBlock& b, size_t block_no, float a) {
  const size_t nb = embed_blocks_, P = b.shard.count, me = b.shard.rank;
#pragma omp parallel
  {
    std::vector<float> row(embed_width());
#pragma omp for schedule(static)
    for (long idl = 0; idl < static_cast<long>(spec_.input_dim); ++idl) {
      const uint64_t id = static_cast<uint64_t>(idl), first_row = id * nb;
      const size_t first = (me + P - first_row % P) % P;  // the first block of this row held here
      if (first >= nb) continue;
      const size_t last = first + (nb - 1 - first) / P * P;
      util::Rng rng(util::derive_seed(spec_.seed, kSeedInit, (static_cast<uint64_t>(block_no) << 40) | id));
      for (size_t j = 0; j < (last + 1) * kEmbedBlock; ++j)
        row[j] = static_cast<float>((2.0 * rng.uniform() - 1.0) * a);
      for (size_t k = first; k <= last; k += P)
        std::copy_n(&row[k * kEmbedBlock], kEmbedBlock, b.row(b.shard.local(first_row + k)));
    }
  }
}

void Network::refresh_block_sums() {
  if (!embed_sparse_) return;
  const optim::ParamBlock& E = blocks_[embed_];
#pragma omp parallel for schedule(static)
  for (long r = 0; r < static_cast<long>(E.rows); ++r)
    block_sums_[E.shard.global(static_cast<size_t>(r))] = block_sum(E.row(static_cast<size_t>(r)));
  block_sums_partial_ = E.shard.sharded();
}

void Network::embed_rows_updated(const std::vector<uint32_t>& rows) {
  if (!embed_sparse_) return;
  const optim::ParamBlock& E = blocks_[embed_];
#pragma omp parallel for schedule(static)
  for (long k = 0; k < static_cast<long>(rows.size()); ++k) {
    // The rows were written a whole Adam pass ago and are scattered: ask for them 16 ahead.
    if (k + 16 < static_cast<long>(rows.size())) __builtin_prefetch(E.row(rows[k + 16]));
    block_sums_[E.shard.global(rows[k])] = block_sum(E.row(rows[k]));
  }
}

// embed_sparsity < 1: the block sums of the input bias (row 0 of fixed_sums) and of each dense
// feature's projection row (rows 1..kDense), from the current weights.
void Network::sum_fixed_blocks() {
  Workspace& ws = *ws_;
  const size_t nb = embed_blocks_;
  ws.fixed_sums.assign((1 + kDense) * nb, 0.0f);
  for (size_t b = 0; b < nb; ++b) ws.fixed_sums[b] = block_sum(&blocks_[embed_bias_].w[b * kEmbedBlock]);
  if (dense_proj_ == SIZE_MAX) return;
  const optim::ParamBlock& P = blocks_[dense_proj_];
  for (int j = 0; j < kDense; ++j)
    for (size_t b = 0; b < nb; ++b) ws.fixed_sums[(1 + j) * nb + b] = block_sum(P.row(j) + b * kEmbedBlock);
}

// Sample s's blocks: the embed_active_blocks_ with the largest summed pre-activation (bias +
// dense projection + the 39 rows' block sums, added as the outputs themselves are), ties to
// the lower block; written to `chosen` in ascending order.
void Network::choose_blocks(const data::Batch& batch, size_t s, int tid, uint32_t* chosen) {
  const auto& K = kernels::active();
  Workspace& ws = *ws_;
  const size_t nb = embed_blocks_, A = embed_active_blocks_;
  std::vector<float>& score = ws.block_score[static_cast<size_t>(tid)];
  std::copy(ws.fixed_sums.begin(), ws.fixed_sums.begin() + static_cast<long>(nb), score.begin());
  K.gather_rows_sum(block_sums_.data(), nb, &batch.ids[s * kIds], kIds, score.data(), nb);
  if (dense_proj_ != SIZE_MAX)
    K.weighted_rows_sum(ws.fixed_sums.data() + nb, nb, ws.iota.data(), &batch.dense[s * kDense], kDense, score.data(),
                        nb);
  for (float& x : score)
    if (std::isnan(x)) x = -std::numeric_limits<float>::infinity();  // a total order for the selection
  // The A-th largest score, then one ascending pass: the blocks above it, and of those equal
  // to it the lowest ones (selecting on the bare floats is ~3x faster than on indices).
  std::vector<float>& kth = ws.block_kth[static_cast<size_t>(tid)];
  kth.assign(score.begin(), score.end());
  std::nth_element(kth.begin(), kth.begin() + static_cast<long>(A - 1), kth.end(), std::greater<float>());
  const float threshold = kth[A - 1];
  size_t above = 0;
  for (size_t b = 0; b < nb; ++b) above += score[b] > threshold;
  size_t n = 0, ties = A - above;
  for (size_t b = 0; b < nb && n < A; ++b) {
    if (score[b] > threshold) {
      chosen[n++] = static_cast<uint32_t>(b);
    } else if (score[b] == threshold && ties > 0) {
      chosen[n++] = static_cast<uint32_t>(b);
      --ties;
    }
  }
}

void Network::choose_input_blocks(const data::Batch& batch, std::vector<uint32_t>& chosen) {
  if (!embed_sparse_) throw std::logic_error("choose_input_blocks: the input layer is dense (embed_sparsity 1)");
  if (block_sums_partial_)
    throw std::logic_error("choose_input_blocks: the block sums hold only this rank's rows (gather them first)");
  const size_t B = batch.rows, A = embed_active_blocks_, nb = embed_blocks_;
  size_shared_scratch(B);
  sum_fixed_blocks();
  chosen.resize(B * A);
#pragma omp parallel
  {
    const int tid = omp_get_thread_num();
#pragma omp for schedule(static)
    for (long sl = 0; sl < static_cast<long>(B); ++sl) {
      const size_t s = static_cast<size_t>(sl);
      if (s + 2 < B) prefetch_row_starts(block_sums_.data(), nb, &batch.ids[(s + 2) * kIds]);
      choose_blocks(batch, s, tid, &chosen[s * A]);
    }
  }
}

// embed_sparsity < 1: sample s's chosen outputs (chosen already), each computed as input_layer_forward computes
// it (bias, then the 39 rows in order, then the dense projection, then the ReLU). Its rows come from the table
// (stored as rows of D floats, as the model sees them) or, fetched, from `rows` (rows of kEmbedBlock).
void Network::sparse_input_layer_forward(const kernels::KernelTable& K, const data::Batch& batch, const EmbedRows* rows,
                                         size_t s) {
  Workspace& ws = *ws_;
  const size_t D = embed_width(), A = embed_active_blocks_, W = embed_active();
  const uint32_t* chosen = &ws.chosen[s * A];
  const float* eb = blocks_[embed_bias_].w.data();
  const optim::ParamBlock* P = dense_proj_ != SIZE_MAX ? &blocks_[dense_proj_] : nullptr;
  const uint32_t* ids = &batch.ids[s * kIds];
  float* h = &ws.h0[s * W];
  uint32_t* idx = &ws.idx0[s * W];
  for (size_t k = 0; k < A; ++k) {
    const size_t col = static_cast<size_t>(chosen[k]) * kEmbedBlock;
    float* hk = h + k * kEmbedBlock;
    std::copy(eb + col, eb + col + kEmbedBlock, hk);
    if (rows)
      K.gather_rows_sum(rows->table, kEmbedBlock, &rows->ids[(s * A + k) * kIds], kIds, hk, kEmbedBlock);
    else
      K.gather_rows_sum(blocks_[embed_].w.data() + col, D, ids, kIds, hk, kEmbedBlock);
    if (P)
      K.weighted_rows_sum(P->w.data() + col, P->cols, ws.iota.data(), &batch.dense[s * kDense], kDense, hk,
                          kEmbedBlock);
    for (size_t c = 0; c < kEmbedBlock; ++c) idx[k * kEmbedBlock + c] = static_cast<uint32_t>(col + c);
  }
  K.relu_inplace(h, W);
}

// embed_sparsity < 1: the gradient rows are the chosen blocks of the batch's input rows (rows
// of kEmbedBlock: input id * blocks + block), ascending; each sums the deltas of the samples
// that have the id and chose the block, in sample order. Parallel over input ids, each id
// writing only its own rows (placed by a first pass that counts them). Most ids of a batch
// occur once: their rows are the sample's chosen blocks (ascending already) and its deltas.
void Network::sparse_input_table_gradient(const data::Batch& batch, optim::SparseGrad& g) {
  Workspace& ws = *ws_;
  group_input_rows(batch, nullptr, ws.input_ids, ws.id_sample_start, ws.id_samples);
  list_id_blocks();
  g.cols = kEmbedBlock;
  g.rows.resize(ws.id_block_start.back());
  g.values.resize(g.rows.size() * kEmbedBlock);  // every value is written by sum_id_blocks
  sum_id_blocks(g);
}

// Fetched rows (a sharded table): the gradient rows, ascending global rows, become the caller's slots.
void Network::sparse_input_gradient_to_slots(const EmbedRows& rows, optim::SparseGrad& g) {
  if (rows.row_count != g.rows.size() || (!rows.sorted_slots && rows.row_count > 0))
    throw std::logic_error("embed_sparsity < 1: the fetched rows are not the rows the batch's choice reads");
  optim::SparseGrad& by_slot = ws_->slot_grad;
  by_slot.cols = g.cols;
  by_slot.rows.resize(g.rows.size());
  by_slot.values.resize(g.values.size());
#pragma omp parallel for schedule(static)
  for (long il = 0; il < static_cast<long>(g.rows.size()); ++il) {
    const size_t i = static_cast<size_t>(il), slot = rows.sorted_slots[i];
    by_slot.rows[slot] = static_cast<uint32_t>(slot);
    std::copy_n(&g.values[i * kEmbedBlock], kEmbedBlock, &by_slot.values[slot * kEmbedBlock]);
  }
  std::swap(g.rows, by_slot.rows);
  std::swap(g.values, by_slot.values);
}

// First pass: per input id, its first gradient row (id_block_start) and, for an id of several
// samples, its distinct blocks (id_blocks from list_start[r]; room for min(samples x A, blocks)).
void Network::list_id_blocks() {
  Workspace& ws = *ws_;
  const size_t nb = embed_blocks_, A = embed_active_blocks_;
  const size_t nids = ws.input_ids.rows.size();
  const uint32_t* start = ws.id_sample_start;
  auto samples_of = [&](size_t r) { return start[r + 1] - start[r]; };
  ws.list_start.assign(nids + 1, 0);
  for (size_t r = 0; r < nids; ++r)
    ws.list_start[r + 1] =
        ws.list_start[r] + (samples_of(r) == 1 ? 0 : static_cast<uint32_t>(std::min<size_t>(samples_of(r) * A, nb)));
  ws.id_blocks.resize(ws.list_start.back());
  ws.id_block_start.assign(nids + 1, 0);
#pragma omp parallel
  {
    std::vector<uint32_t> mark(nb, 0), blocks;
#pragma omp for schedule(static)
    for (long rl = 0; rl < static_cast<long>(nids); ++rl) {
      const size_t r = static_cast<size_t>(rl);
      if (samples_of(r) == 1) {
        ws.id_block_start[r + 1] = static_cast<uint32_t>(A);
        continue;
      }
      distinct_blocks(ws.chosen.data(), A, nb, ws.id_samples + start[r], samples_of(r), static_cast<uint32_t>(r) + 1,
                      mark, blocks);
      std::copy(blocks.begin(), blocks.end(), ws.id_blocks.begin() + ws.list_start[r]);
      ws.id_block_start[r + 1] = static_cast<uint32_t>(blocks.size());
    }
  }
  for (size_t r = 0; r < nids; ++r) ws.id_block_start[r + 1] += ws.id_block_start[r];
}

// Second pass: each id's gradient rows, its samples' deltas added in sample order.
void Network::sum_id_blocks(optim::SparseGrad& g) {
  Workspace& ws = *ws_;
  const size_t nb = embed_blocks_, A = embed_active_blocks_, W0 = embed_active();
  const std::vector<uint32_t>& ids = ws.input_ids.rows;
  const uint32_t* start = ws.id_sample_start;
#pragma omp parallel
  {
    std::vector<uint32_t> slot(nb);
#pragma omp for schedule(static)
    for (long rl = 0; rl < static_cast<long>(ids.size()); ++rl) {
      const size_t r = static_cast<size_t>(rl);
      const uint32_t base = ws.id_block_start[r], count = ws.id_block_start[r + 1] - base;
      const uint32_t first = ids[r] * static_cast<uint32_t>(nb);
      float* out = &g.values[size_t{base} * kEmbedBlock];
      if (start[r + 1] - start[r] == 1) {  // one sample: its chosen blocks and deltas as they are
        const size_t s = ws.id_samples[start[r]];
        for (size_t k = 0; k < A; ++k) g.rows[base + k] = first + ws.chosen[s * A + k];
        std::copy(&ws.d0[s * W0], &ws.d0[s * W0] + W0, out);
        continue;
      }
      const uint32_t* blocks = &ws.id_blocks[ws.list_start[r]];
      for (uint32_t i = 0; i < count; ++i) {
        slot[blocks[i]] = i;
        g.rows[base + i] = first + blocks[i];
      }
      std::fill(out, out + size_t{count} * kEmbedBlock, 0.0f);
      for (uint32_t e = start[r]; e < start[r + 1]; ++e) {
        const size_t s = ws.id_samples[e];
        for (size_t k = 0; k < A; ++k) {
          const float* __restrict d = &ws.d0[s * W0 + k * kEmbedBlock];
          float* __restrict o = out + size_t{slot[ws.chosen[s * A + k]]} * kEmbedBlock;
          for (size_t c = 0; c < kEmbedBlock; ++c) o[c] += d[c];  // exact: no kernel choice to make
        }
      }
    }
  }
}

}  // namespace sparsetrain::model
