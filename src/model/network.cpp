#include "sparsetrain/model/network.h"

#include "network_internal.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "sparsetrain/kernels/kernels.h"
#include "sparsetrain/model/stable_scatter.h"
#include "sparsetrain/util/hash.h"
#include "sparsetrain/util/random.h"

namespace sparsetrain::model {

using namespace internal;  // NOLINT(google-build-using-namespace): the constants both files share

namespace {

inline float sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }

// Binary cross-entropy of probability p for label y, clamped away from log(0).
inline double bce(float p, float y) {
  const double q = std::clamp(static_cast<double>(p), 1e-7, 1.0 - 1e-7);
  return y > 0.5f ? -std::log(q) : -std::log(1.0 - q);
}

// Sorts (id << 24 | sample) keys by id with a stable LSD radix sort (11-bit digits).
// The keys are generated in sample order, so stability gives exactly std::sort's
// order; for ~40k keys per batch it is several times faster than a comparison sort.
// Each pass is a stable counting scatter, parallel over threads with the serial result.
void radix_sort_by_id(std::vector<uint64_t>& keys, std::vector<uint64_t>& tmp, std::vector<uint32_t>& scratch) {
  constexpr int kDigitBits = 11;
  constexpr size_t kBuckets = size_t{1} << kDigitBits;
  tmp.resize(keys.size());
  uint64_t all_or = 0;
  for (uint64_t k : keys) all_or |= k >> 24;
  for (int shift = 24; shift < 24 + 32 && (all_or >> (shift - 24)) != 0; shift += kDigitBits) {
    const uint64_t* in = keys.data();
    uint64_t* out = tmp.data();
    stable_counting_scatter(
        keys.size(), kBuckets, [&](size_t e) { return static_cast<size_t>((in[e] >> shift) & (kBuckets - 1)); },
        [&](size_t e, uint32_t pos) { out[pos] = in[e]; }, nullptr, scratch);
    keys.swap(tmp);
  }
}

// Starts loading the kIds rows `ids` of `table` (row length D) into the cache.
void prefetch_rows(const float* table, size_t D, const uint32_t* ids) {
  for (int j = 0; j < kIds; ++j) {
    const char* row = reinterpret_cast<const char*>(table + static_cast<size_t>(ids[j]) * D);
    for (size_t b = 0; b < D * sizeof(float); b += 64) __builtin_prefetch(row + b);
  }
}

// The chosen blocks (one cache line each) of the kIds rows `ids` of a table with rows of D floats.
void prefetch_blocks(const float* table, size_t D, const uint32_t* ids, const uint32_t* blocks, size_t nblocks) {
  for (int j = 0; j < kIds; ++j) {
    const float* row = table + static_cast<size_t>(ids[j]) * D;
    for (size_t k = 0; k < nblocks; ++k) __builtin_prefetch(row + static_cast<size_t>(blocks[k]) * kEmbedBlock);
  }
}

}  // namespace

uint64_t parameter_count(const NetworkSpec& spec) {
  uint64_t n = spec.input_dim * static_cast<uint64_t>(spec.embed_dim) + spec.embed_dim;
  if (spec.dense_features) n += static_cast<uint64_t>(kDense) * spec.embed_dim;
  uint64_t in = static_cast<uint64_t>(spec.embed_dim);
  for (int h : spec.hidden) {
    n += static_cast<uint64_t>(h) * (in + 1);
    in = static_cast<uint64_t>(h);
  }
  return n + in + 1;
}

double state_bytes(const NetworkSpec& spec) {
  const double D = spec.embed_dim;
  // w (4 bytes) + m, v (4 each, or 2 in bfloat16) per value, last_step (4) per row.
  auto block = [](double rows, double cols, bool bf16) { return rows * cols * (bf16 ? 8.0 : 12.0) + 4.0 * rows; };
  const double shards = std::max<uint32_t>(spec.embed_shard_count, 1);
  const double embed_rows = std::ceil(static_cast<double>(spec.input_dim) / shards);
  double bytes = block(1, D, false);
  if (spec.embed_sparsity < 1.0) {  // rows of kEmbedBlock, each with its step; every row's block sum
    const double all_sub_rows = static_cast<double>(spec.input_dim) * D / kEmbedBlock;
    bytes += block(std::ceil(all_sub_rows / shards), kEmbedBlock, spec.bf16_moments) + 4.0 * all_sub_rows;
  } else {
    bytes += block(embed_rows, D, spec.bf16_moments);
  }
  if (spec.dense_features) bytes += block(kDense, D, false);
  double in = D;
  for (size_t l = 0; l < spec.hidden.size(); ++l) {
    const double out = spec.hidden[l];
    bytes += block(out, in + 1, false);
    if (l < spec.sparsity.size() && spec.sparsity[l] < 1.0) {
      const double L = spec.lsh.num_tables, slots = L * std::ldexp(1.0, spec.lsh.bits_per_table);
      bytes += slots * (4.0 * spec.lsh.bucket_capacity + 8.0)  // buckets, sizes, offered
               + 4.0 * L * out                                 // each neuron's codes
               + 4.0 * L * spec.lsh.bits_per_table * in        // projections (dense SimHash: the most)
               + 4.0 * out * (in + 1);                         // the weights the tables came from
    }
    in = out;
  }
  return bytes + block(1, in + 1, false);
}

Network::Network(const NetworkSpec& spec) : spec_(spec), ws_(std::make_unique<Workspace>()) {
  if (spec_.sparsity.size() != spec_.hidden.size())
    throw std::invalid_argument("sparsity needs one value per hidden layer");
  if (spec_.input_dim == 0 || spec_.input_dim > (1ULL << 32))
    throw std::invalid_argument("input_dim must be in [1, 2^32]");
  const size_t D = static_cast<size_t>(spec_.embed_dim);
  auto add_block = [&](const std::string& name, size_t rows, size_t cols, bool lazy, bool bf16 = false) {
    blocks_.emplace_back();
    blocks_.back().name = name;
    blocks_.back().allocate(rows, cols, lazy, bf16);
    return blocks_.size() - 1;
  };
  if (spec_.embed_shard_count == 0 || spec_.embed_shard_rank >= spec_.embed_shard_count)
    throw std::invalid_argument("embed shard rank must be below the shard count");
  if (!(spec_.embed_sparsity > 0.0 && spec_.embed_sparsity <= 1.0))
    throw std::invalid_argument("embed_sparsity must be in (0, 1]");
  embed_sparse_ = spec_.embed_sparsity < 1.0;
  blocks_.emplace_back();
  embed_ = blocks_.size() - 1;
  blocks_.back().name = "embed";
  if (embed_sparse_) {
    if (D % kEmbedBlock != 0) throw std::invalid_argument("embed_sparsity < 1 needs embed_dim a multiple of 16");
    embed_blocks_ = D / kEmbedBlock;
    if (spec_.input_dim * embed_blocks_ > (1ULL << 32))
      throw std::invalid_argument("embed_sparsity < 1 needs input_dim * embed_dim / 16 <= 2^32");
    embed_active_blocks_ = std::clamp<size_t>(
        static_cast<size_t>(std::ceil(spec_.embed_sparsity * static_cast<double>(embed_blocks_))), 1, embed_blocks_);
    // Sharded, the rows of kEmbedBlock are what the owners hold: global row id * blocks + block.
    blocks_.back().allocate_shard({spec_.input_dim * embed_blocks_, spec_.embed_shard_rank, spec_.embed_shard_count},
                                  kEmbedBlock, true, spec_.bf16_moments);
    block_sums_.resize(spec_.input_dim * embed_blocks_);  // every row's, on every rank
  } else {
    blocks_.back().allocate_shard({spec_.input_dim, spec_.embed_shard_rank, spec_.embed_shard_count}, D, true,
                                  spec_.bf16_moments);
  }
  embed_bias_ = add_block("embed_bias", 1, D, false);
  if (spec_.dense_features) dense_proj_ = add_block("dense_proj", kDense, D, false);
  size_t in = D;
  for (size_t l = 0; l < spec_.hidden.size(); ++l) {
    const size_t out = static_cast<size_t>(spec_.hidden[l]);
    fc_.push_back(add_block("fc" + std::to_string(l + 1), out, in + 1, true));  // last column = bias
    const bool dense = spec_.sparsity[l] >= 1.0;
    layer_dense_.push_back(dense);
    active_.push_back(dense ? out : std::max<size_t>(1, static_cast<size_t>(std::ceil(spec_.sparsity[l] * out))));
    if (dense) {
      index_.push_back(nullptr);
    } else {
      lsh::LshConfig c = spec_.lsh;
      c.input_dim = in;
      c.seed = util::derive_seed(spec_.seed, kSeedLsh, l);
      index_.push_back(std::make_unique<lsh::NeuronIndex>(c, out));
      has_lsh_ = true;
    }
    in = out;
  }
  out_ = add_block("out", 1, in + 1, false);  // last entry = bias
  if (spec_.initialize) init_weights();
  refresh_block_sums();
  if (has_lsh_) {
    rebuild_interval_ = spec_.rebuild_every;
    rebuild(0);
    next_rebuild_ = static_cast<uint64_t>(spec_.rebuild_every);
  }
}

Network::~Network() = default;

uint64_t Network::num_parameters() const { return parameter_count(spec_); }

void Network::init_weights() {
  // Uniform(-a, a) with a = sqrt(3) * std: same variance as a Gaussian, far cheaper to
  // draw for a billion parameters. Each row has its own RNG stream keyed by its GLOBAL
  // row, so the result depends neither on the thread count nor on which rank holds the
  // row (a sharded table's owner draws exactly the replicated table's values).
  // row_len: the block's rows as the model sees them. The input table stored in rows of
  // kEmbedBlock (embed_sparsity < 1) is drawn as its rows of embed_dim, so it starts from the
  // same values as with embed_sparsity 1 (sharded: fill_embed_blocks).
  auto fill = [&](optim::ParamBlock& b, size_t block_no, double stddev, size_t cols_to_fill, size_t row_len) {
    const float a = static_cast<float>(std::sqrt(3.0) * stddev);
    if (row_len != b.cols && b.shard.sharded()) return fill_embed_blocks(b, block_no, a);
    const size_t rows = b.rows * b.cols / row_len;
#pragma omp parallel for schedule(static)
    for (long rl = 0; rl < static_cast<long>(rows); ++rl) {
      const size_t r = static_cast<size_t>(rl);
      const uint64_t global = row_len == b.cols ? b.shard.global(r) : r;
      util::Rng rng(util::derive_seed(spec_.seed, kSeedInit, (static_cast<uint64_t>(block_no) << 40) | global));
      for (size_t j = 0; j < cols_to_fill; ++j)
        b.w[r * row_len + j] = static_cast<float>((2.0 * rng.uniform() - 1.0) * a);
    }
  };
  const bool torch = spec_.init == NetworkSpec::Init::Pytorch;
  // PyTorch's Linear default (kaiming_uniform with a = sqrt(5), and its bias) is
  // U(-1/sqrt(fan_in), 1/sqrt(fan_in)) on every column, the bias included: std 1/sqrt(3 fan_in).
  auto torch_std = [](double fan_in) { return 1.0 / std::sqrt(3.0 * fan_in); };
  // A fully connected layer of `in` inputs, `in_active` of them computed per sample. Ours:
  // std sqrt(gain / in_active) (He for a ReLU layer: gain 2) over the inputs a neuron
  // actually sees (fewer when the previous layer is sparse); the bias column stays 0.
  auto fill_layer = [&](size_t block_no, size_t in, double in_active, double gain) {
    optim::ParamBlock& b = blocks_[block_no];
    if (torch)
      fill(b, block_no, torch_std(static_cast<double>(in)), b.cols, b.cols);
    else
      fill(b, block_no, std::sqrt(gain / in_active), in, b.cols);
  };
  // The sparse-input layer sums kIds rows: scale so the sum has unit variance.
  // Rows start small (0.1 of unit variance for the 39-row sum): ids seen rarely or
  // only at test time then add little noise (+0.01 AUC on the sample over 25 seeds x splits).
  fill(blocks_[embed_], embed_, torch ? 0.01 : 0.1 / std::sqrt(static_cast<double>(kIds)), embed_width(),
       embed_width());
  // The dense projection starts at the same scale as that sum. Its inputs are not unit
  // variance: Criteo's 13 log1p counts have a mean squared norm of about 119 (the bundled
  // Kaggle sample and synth alike), so std 0.1 / sqrt(119). The former std 0.1 made the
  // projection ~11x the sum, which drowned the ids' signal at the start.
  constexpr double kDenseSquaredNorm = 119.0;
  if (dense_proj_ != SIZE_MAX)
    fill(blocks_[dense_proj_], dense_proj_, torch ? torch_std(kDense) : 0.1 / std::sqrt(kDenseSquaredNorm),
         blocks_[dense_proj_].cols, blocks_[dense_proj_].cols);
  size_t in = static_cast<size_t>(spec_.embed_dim);
  double in_active = static_cast<double>(embed_active());
  for (size_t l = 0; l < fc_.size(); ++l) {
    fill_layer(fc_[l], in, in_active, 2.0);
    in = static_cast<size_t>(spec_.hidden[l]);
    in_active = static_cast<double>(active_[l]);
  }
  fill_layer(out_, in, in_active, 1.0);
}

void Network::rebuild_hidden_tables() {
  for (size_t l = 0; l < fc_.size(); ++l) {
    if (!index_[l]) continue;
    const auto& b = blocks_[fc_[l]];
    index_[l]->rebuild(b.w.data(), b.cols);
  }
}

void Network::rebuild_tables() {
  rebuild_hidden_tables();
  refresh_block_sums();
}

void Network::rebuild(uint64_t step) {
  const auto t0 = std::chrono::steady_clock::now();
  rebuild_hidden_tables();
  rebuild_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ++rebuilds_;
  if (step > 0) {
    rebuild_interval_ = std::min<double>(rebuild_interval_ * spec_.rebuild_growth, spec_.rebuild_max);
    next_rebuild_ = step + static_cast<uint64_t>(std::max(1.0, std::floor(rebuild_interval_)));
  }
}

void Network::forward(const data::Batch& batch, uint64_t step, uint64_t sample_base, TopUpSeed seed_by,
                      const EmbedRows* rows) {
  const auto& K = kernels::active();
  const size_t B = batch.rows;
  const size_t D = static_cast<size_t>(spec_.embed_dim);
  size_forward_workspace(B);
  const optim::ParamBlock& E = blocks_[embed_];
  if (!rows && E.shard.sharded()) throw std::logic_error("a sharded input table needs the batch's fetched rows");
  const float* table = rows ? rows->table : E.w.data();
  const uint32_t* row_of = rows ? rows->ids : batch.ids.data();
  // embed_sparsity < 1: every sample's blocks first, so the outputs' lines can be loaded ahead
  // (with fetched rows the caller chose them, through the same choose_input_blocks).
  if (embed_sparse_ && !rows) {
    choose_input_blocks(batch, ws_->chosen);
  } else if (embed_sparse_) {
    if (!rows->chosen && B > 0)
      throw std::logic_error("embed_sparsity < 1 with fetched rows needs their chosen blocks");
    std::copy_n(rows->chosen, B * embed_active_blocks_, ws_->chosen.begin());
  }

#pragma omp parallel
  {
    const int tid = omp_get_thread_num();
#pragma omp for schedule(static)
    for (long sl = 0; sl < static_cast<long>(B); ++sl) {
      const size_t s = static_cast<size_t>(sl);
      // The 39 rows of a later sample are scattered over a wide table: start loading them now,
      // two samples ahead (one ahead left the cold rows of the steady state still in flight:
      // with the Adam change below, +4..13% samples/s over 4 interleaved full-length pairs).
      if (embed_sparse_) {
        if (s + 2 < B && !rows)
          prefetch_blocks(table, D, &batch.ids[(s + 2) * kIds], &ws_->chosen[(s + 2) * embed_active_blocks_],
                          embed_active_blocks_);
        sparse_input_layer_forward(K, batch, rows, s);
      } else {
        if (s + 2 < B) prefetch_rows(table, D, &row_of[(s + 2) * kIds]);
        input_layer_forward(K, batch, table, row_of, s);
      }
      uint64_t key = sample_base + s;
      if (seed_by == TopUpSeed::RowContent) {  // the row's 39 ids: same row, same neurons
        key = 0x5eed;
        for (int j = 0; j < kIds; ++j) key = util::hash64(key, batch.ids[s * kIds + j]);
      }
      const uint64_t top_up_seed = util::derive_seed(spec_.seed, kSeedTopUp, util::hash64(key, step));
      ws_->logit[s] = hidden_layers_forward(K, s, top_up_seed, tid);
    }
  }
}

// Sizes the batch's buffers; rebuilds the per-thread scratch when the thread count changed.
void Network::size_forward_workspace(size_t B) {
  Workspace& ws = *ws_;
  const size_t L = fc_.size();
  ws.h0.resize(B * embed_active());
  if (embed_sparse_) {
    ws.idx0.resize(B * embed_active());
    ws.chosen.resize(B * embed_active_blocks_);
  }
  ws.idx.resize(L);
  ws.act.resize(L);
  ws.delta.resize(L);
  for (size_t l = 0; l < L; ++l) {
    ws.idx[l].resize(B * active_[l]);
    ws.act[l].resize(B * active_[l]);
  }
  ws.logit.resize(B);
  size_shared_scratch(B);
}

void Network::size_shared_scratch(size_t B) {
  Workspace& ws = *ws_;
  const size_t L = fc_.size();
  const int threads = omp_get_max_threads();
  // Keyed on the per-thread vectors too: with no hidden layers the scratch list is
  // empty for any thread count, and picked[tid] must still exist.
  if (ws.lsh_scratch.size() != static_cast<size_t>(threads) * L || ws.picked.size() != static_cast<size_t>(threads)) {
    ws.lsh_scratch.clear();
    for (int t = 0; t < threads; ++t)
      for (size_t l = 0; l < L; ++l)
        ws.lsh_scratch.push_back(index_[l] ? index_[l]->make_scratch() : lsh::QueryScratch{});
    ws.picked.assign(threads, {});
    ws.dense_in.assign(threads, {});
    ws.block_score.assign(threads, std::vector<float>(embed_blocks_));
    ws.block_kth.assign(threads, {});
  }
  if (ws.iota.size() < std::max<size_t>(B, kDense)) {
    ws.iota.resize(std::max<size_t>(B, kDense));
    std::iota(ws.iota.begin(), ws.iota.end(), 0u);
  }
}

// Sparse-input layer of sample s: bias + sum of the rows of the 39 active ids (+ dense projection), ReLU.
void Network::input_layer_forward(const kernels::KernelTable& K, const data::Batch& batch, const float* table,
                                  const uint32_t* row_of, size_t s) {
  const size_t D = static_cast<size_t>(spec_.embed_dim);
  const float* eb = blocks_[embed_bias_].w.data();
  const optim::ParamBlock* P = dense_proj_ != SIZE_MAX ? &blocks_[dense_proj_] : nullptr;
  float* h0 = &ws_->h0[s * D];
  std::copy(eb, eb + D, h0);
  K.gather_rows_sum(table, D, &row_of[s * kIds], kIds, h0, D);
  if (P) K.weighted_rows_sum(P->w.data(), P->cols, ws_->iota.data(), &batch.dense[s * kDense], kDense, h0, D);
  K.relu_inplace(h0, D);
}

// Hidden layers of sample s, then the output: returns its logit. The input of layer l is
// h0 (l = 0) or layer l-1's active outputs; a sparse layer's neurons are those LSH offers
// for that input, topped up at random from top_up_seed.
float Network::hidden_layers_forward(const kernels::KernelTable& K, size_t s, uint64_t top_up_seed, int tid) {
  Workspace& ws = *ws_;
  const size_t D = static_cast<size_t>(spec_.embed_dim);
  const size_t L = fc_.size();
  std::vector<uint32_t>& picked = ws.picked[tid];
  std::vector<float>& dense_in = ws.dense_in[tid];
  util::Rng rng(top_up_seed);
  // Dense view of the input, or null when it is sparse (x_idx, x_val: its x_nnz active values).
  const LayerInput x0 = layer_input(0);
  const float* x_dense = x0.dense ? x0.act + s * x0.width : nullptr;
  const uint32_t* x_idx = x0.dense ? nullptr : x0.idx + s * x0.width;
  const float* x_val = x0.dense ? nullptr : x0.act + s * x0.width;
  size_t x_nnz = x0.dense ? 0 : x0.width, in = D;
  for (size_t l = 0; l < L; ++l) {
    const optim::ParamBlock& W = blocks_[fc_[l]];
    const size_t A = active_[l];
    uint32_t* idx = &ws.idx[l][s * A];
    float* act = &ws.act[l][s * A];
    if (layer_dense_[l]) {
      for (size_t k = 0; k < A; ++k) idx[k] = static_cast<uint32_t>(k);
    } else {
      const float* query = x_dense;
      if (!query) {  // scatter the sparse input into a dense vector for hashing
        dense_in.assign(in, 0.0f);
        for (size_t j = 0; j < x_nnz; ++j) dense_in[x_idx[j]] = x_val[j];
        query = dense_in.data();
      }
      picked.clear();
      index_[l]->query(query, A, rng, ws.lsh_scratch[static_cast<size_t>(tid) * L + l], picked);
      std::copy(picked.begin(), picked.end(), idx);
    }
    if (x_dense) {
      K.dot_rows(W.w.data(), W.cols, idx, A, x_dense, in, act);  // act[k] = w_k . x, then bias + ReLU
    } else {
      for (size_t k = 0; k < A; ++k) act[k] = K.sparse_dot(W.row(idx[k]), x_idx, x_val, x_nnz);
    }
    for (size_t k = 0; k < A; ++k) {
      const float z = W.row(idx[k])[in] + act[k];
      act[k] = z > 0.0f ? z : 0.0f;
    }
    if (layer_dense_[l]) {
      x_dense = act;
    } else {
      x_dense = nullptr;
      x_idx = idx;
      x_val = act;
      x_nnz = A;
    }
    in = static_cast<size_t>(spec_.hidden[l]);
  }
  const float* wo = blocks_[out_].w.data();
  return wo[in] + (x_dense ? K.dot(wo, x_dense, in) : K.sparse_dot(wo, x_idx, x_val, x_nnz));
}

void Network::infer(const data::Batch& batch, float* probs, const EmbedRows* rows) {
  forward(batch, 0, 0, TopUpSeed::RowContent, rows);
  for (size_t s = 0; s < batch.rows; ++s) probs[s] = sigmoid(ws_->logit[s]);
}

void Network::predict(const data::Batch& batch, uint64_t sample_base, float* probs, const EmbedRows* rows) {
  forward(batch, 0, sample_base, TopUpSeed::Position, rows);
  for (size_t s = 0; s < batch.rows; ++s) probs[s] = sigmoid(ws_->logit[s]);
}

size_t Network::last_batch_rows() const { return ws_->logit.size(); }

void Network::check_last_forward(size_t l, size_t s) const {
  if (l >= fc_.size())
    throw std::out_of_range("hidden layer " + std::to_string(l) + " out of range: the network has " +
                            std::to_string(fc_.size()));
  if (s >= last_batch_rows())
    throw std::out_of_range("sample " + std::to_string(s) + " out of range: the last forward had " +
                            std::to_string(last_batch_rows()) + " rows");
}

std::span<const uint32_t> Network::selection(size_t l, size_t s) const {
  check_last_forward(l, s);
  return {&ws_->idx[l][s * active_[l]], active_[l]};
}

std::span<const float> Network::selected_activations(size_t l, size_t s) const {
  check_last_forward(l, s);
  return {&ws_->act[l][s * active_[l]], active_[l]};
}

// hidden_layers_forward's arithmetic for every neuron instead of the selected ones: the same
// kernel (dot_rows on a dense input, sparse_dot on a sparse one), then bias + that.
void Network::exact_preactivations(size_t l, size_t s, std::vector<float>& out) const {
  check_last_forward(l, s);
  const auto& K = kernels::active();
  const optim::ParamBlock& W = blocks_[fc_[l]];
  const size_t width = static_cast<size_t>(spec_.hidden[l]);
  const size_t in = l == 0 ? static_cast<size_t>(spec_.embed_dim) : static_cast<size_t>(spec_.hidden[l - 1]);
  out.resize(width);
  const LayerInput x = layer_input(l);
  if (x.dense) {
    std::vector<uint32_t> all(width);
    std::iota(all.begin(), all.end(), 0u);
    K.dot_rows(W.w.data(), W.cols, all.data(), width, x.act + s * in, in, out.data());
  } else {  // the previous layer's selected outputs (the sparse-input layer's chosen ones for l = 0)
    const size_t A = x.width;
    for (size_t n = 0; n < width; ++n) out[n] = K.sparse_dot(W.row(n), x.idx + s * A, x.act + s * A, A);
  }
  for (size_t n = 0; n < width; ++n) out[n] = W.row(n)[in] + out[n];
}

void Network::forward_backward(const data::Batch& batch, float loss_scale, uint64_t step, uint64_t sample_base,
                               std::vector<BlockGrad>& grads, StepStats& stats, const EmbedRows* rows) {
  if (batch.rows >= (1u << 24)) throw std::invalid_argument("batch too large: at most 2^24 - 1 rows per rank");
  forward(batch, step, sample_base, TopUpSeed::Position, rows);
  const size_t B = batch.rows;
  const size_t L = fc_.size();
  stats.loss_sum += output_delta(batch, loss_scale);
  stats.samples += B;
  for (size_t l = 0; l < L; ++l) stats.active_neurons += B * active_[l];
  backpropagate_deltas(B);

  // ---- Weight gradients, parallel over rows, each row summing samples in order. ----
  start_gradients(grads);
  for (size_t l = 0; l < L; ++l) {
    optim::SparseGrad& g = grads[fc_[l]].sparse_grad;
    list_layer_gradient_rows(l, B, g);
    // The output weights are indexed like the last hidden layer's outputs: summed in the same pass.
    accumulate_layer_gradient(l, B, g, l + 1 == L ? grads[out_].dense_grad.values.data() : nullptr);
  }
  finish_output_gradient(B, grads[out_].dense_grad);
  if (embed_sparse_) {
    sparse_input_table_gradient(batch, grads[embed_].sparse_grad);
    if (rows) sparse_input_gradient_to_slots(*rows, grads[embed_].sparse_grad);
  } else
    input_table_gradient(batch, rows, grads[embed_].sparse_grad);
  input_bias_and_projection_gradient(batch, grads);
}

// Output: d(mean BCE)/d logit = (p - y) * scale. Serial: the loss is summed in sample order.
double Network::output_delta(const data::Batch& batch, float loss_scale) {
  Workspace& ws = *ws_;
  const size_t B = batch.rows;
  ws.dlogit.resize(B);
  double loss = 0;
  for (size_t s = 0; s < B; ++s) {
    const float p = sigmoid(ws.logit[s]);
    loss += bce(p, batch.labels[s]);
    ws.dlogit[s] = (p - batch.labels[s]) * loss_scale;
  }
  return loss;
}

// Per-sample backward through the hidden layers down to the sparse-input layer: each
// sample writes only its own rows of delta and d0, so any thread count gives the same bits.
void Network::backpropagate_deltas(size_t B) {
  const auto& K = kernels::active();
  Workspace& ws = *ws_;
  const size_t L = fc_.size();
  const optim::ParamBlock& O = blocks_[out_];
  const size_t W0 = embed_active();
  ws.d0.resize(B * W0);
  for (size_t l = 0; l < L; ++l) ws.delta[l].resize(B * active_[l]);
#pragma omp parallel for schedule(static)
  for (long sl = 0; sl < static_cast<long>(B); ++sl) {
    const size_t s = static_cast<size_t>(sl);
    float* d0 = &ws.d0[s * W0];
    if (L == 0) {  // the output weights of the sparse-input layer's outputs (all D, or the chosen ones)
      const LayerInput x = layer_input(0);
      for (size_t j = 0; j < W0; ++j) d0[j] = ws.dlogit[s] * O.w[x.dense ? j : x.idx[s * W0 + j]];
      K.relu_backward(&ws.h0[s * W0], d0, W0);
      continue;
    }
    {  // delta of the last hidden layer from the output weights
      const size_t A = active_[L - 1];
      const uint32_t* idx = &ws.idx[L - 1][s * A];
      const float* act = &ws.act[L - 1][s * A];
      float* dl = &ws.delta[L - 1][s * A];
      // Branch-free: whether a ReLU is open is a coin flip for the branch predictor.
      const float dz = ws.dlogit[s];
      for (size_t k = 0; k < A; ++k) {
        const float d = dz * O.w[idx[k]];
        dl[k] = act[k] > 0.0f ? d : 0.0f;
      }
    }
    for (size_t l = L; l-- > 0;) backpropagate_layer(K, l, s);
  }
}

// Sample s's delta at layer l's input (d0 for l = 0) from its delta at layer l's active neurons.
Network::LayerInput Network::layer_input(size_t l) const {
  Workspace& ws = *ws_;
  if (l == 0) return {!embed_sparse_, embed_active(), ws.idx0.data(), ws.h0.data(), ws.d0.data()};
  return {layer_dense_[l - 1], active_[l - 1], ws.idx[l - 1].data(), ws.act[l - 1].data(), ws.delta[l - 1].data()};
}

void Network::backpropagate_layer(const kernels::KernelTable& K, size_t l, size_t s) {
  Workspace& ws = *ws_;
  const optim::ParamBlock& W = blocks_[fc_[l]];
  const size_t A = active_[l];
  const uint32_t* idx = &ws.idx[l][s * A];
  const float* dl = &ws.delta[l][s * A];
  const LayerInput x = layer_input(l);
  if (x.dense) {
    // d(input) = sum over active neurons of delta * weight row; then the ReLU mask.
    const size_t in = x.width;
    float* din = x.delta + s * in;
    std::fill(din, din + in, 0.0f);
    K.weighted_rows_sum(W.w.data(), W.cols, idx, dl, A, din, in);  // skips dl[k] == 0
    K.relu_backward(x.act + s * in, din, in);
  } else {
    const size_t Ap = x.width;
    const uint32_t* pidx = x.idx + s * Ap;
    const float* pact = x.act + s * Ap;
    float* din = x.delta + s * Ap;
    std::fill(din, din + Ap, 0.0f);
    for (size_t k = 0; k < A; ++k) {
      if (dl[k] == 0.0f) continue;
      const float* wrow = W.row(idx[k]);
      for (size_t j = 0; j < Ap; ++j) din[j] += dl[k] * wrow[pidx[j]];
    }
    for (size_t j = 0; j < Ap; ++j)
      if (!(pact[j] > 0.0f)) din[j] = 0.0f;
  }
}

// One gradient per block; the dense ones zeroed, since they are summed into.
void Network::start_gradients(std::vector<BlockGrad>& grads) {
  grads.resize(blocks_.size());
  for (size_t b = 0; b < blocks_.size(); ++b) {
    grads[b].sparse = blocks_[b].lazy;
    if (!grads[b].sparse) grads[b].dense_grad.values.assign(blocks_[b].size(), 0.0f);
  }
  ws_->inv_start.resize(fc_.size());
  ws_->inv_entry.resize(fc_.size());
}

// The rows (neurons) of hidden layer l that some sample computed, zeroed; for a sparse
// layer also the inverted index that accumulate_layer_gradient walks.
void Network::list_layer_gradient_rows(size_t l, size_t B, optim::SparseGrad& g) {
  Workspace& ws = *ws_;
  const size_t D = static_cast<size_t>(spec_.embed_dim);
  const size_t A = active_[l];
  const size_t out = static_cast<size_t>(spec_.hidden[l]);
  const size_t in = l == 0 ? D : static_cast<size_t>(spec_.hidden[l - 1]);
  auto& start = ws.inv_start[l];
  auto& entry = ws.inv_entry[l];
  g.cols = in + 1;
  g.rows.clear();
  if (layer_dense_[l]) {
    g.rows.resize(out);
    for (size_t n = 0; n < out; ++n) g.rows[n] = static_cast<uint32_t>(n);
  } else {
    // Counting sort of (neuron, sample) pairs: deterministic and linear.
    const uint32_t* idx = ws.idx[l].data();
    entry.resize(B * A);
    uint32_t* ent = entry.data();
    stable_counting_scatter(
        B * A, out, [&](size_t e) { return static_cast<size_t>(idx[e]); },
        [&](size_t e, uint32_t pos) { ent[pos] = static_cast<uint32_t>(e); }, &start, ws.scatter_counts);
    for (size_t n = 0; n < out; ++n)
      if (start[n + 1] > start[n]) g.rows.push_back(static_cast<uint32_t>(n));
  }
  g.values.assign(g.rows.size() * g.cols, 0.0f);
}

// Hidden layer l's weight gradient, parallel over its rows, each row summing its samples
// in sample order. out_grad: the output weights' gradient when l is the last layer, else null.
void Network::accumulate_layer_gradient(size_t l, size_t B, optim::SparseGrad& g, float* out_grad) {
  const auto& K = kernels::active();
  Workspace& ws = *ws_;
  const size_t D = static_cast<size_t>(spec_.embed_dim);
  const size_t A = active_[l];
  const size_t in = l == 0 ? D : static_cast<size_t>(spec_.hidden[l - 1]);
  const LayerInput x = layer_input(l);
  const bool input_dense = x.dense;
  const size_t Ap = x.width;
  const auto& start = ws.inv_start[l];
  const auto& entry = ws.inv_entry[l];
  const bool last = out_grad != nullptr;
  float* gout = out_grad;
  const long nrows = static_cast<long>(g.rows.size());
  // A dense input: each sample's input row is row s of x_base (stride in), so a
  // neuron's gradient row is one weighted_rows_sum over its samples.
  const float* x_base = input_dense ? x.act : nullptr;
#pragma omp parallel
  {
    std::vector<uint32_t> samples;  // this neuron's samples with a nonzero delta, in order
    std::vector<float> deltas;
#pragma omp for schedule(dynamic, 16)
    for (long r = 0; r < nrows; ++r) {
      const uint32_t n = g.rows[r];
      float* grow = &g.values[static_cast<size_t>(r) * g.cols];
      samples.clear();
      deltas.clear();
      auto accumulate = [&](size_t s, size_t k) {
        const float d = ws.delta[l][s * A + k];
        if (last) gout[n] += ws.dlogit[s] * ws.act[l][s * A + k];
        if (d == 0.0f) return;
        grow[in] += d;
        if (input_dense) {
          samples.push_back(static_cast<uint32_t>(s));
          deltas.push_back(d);
        } else {
          K.sparse_axpy(d, x.idx + s * Ap, x.act + s * Ap, Ap, grow);
        }
      };
      if (layer_dense_[l]) {
        for (size_t s = 0; s < B; ++s) accumulate(s, n);
      } else {
        // 32-bit division: entries are uint32, and a 64-bit divide costs several times more.
        const uint32_t A32 = static_cast<uint32_t>(A);
        for (uint32_t e = start[n]; e < start[n + 1]; ++e) {
          const uint32_t s = entry[e] / A32;
          accumulate(s, entry[e] - s * A32);
        }
      }
      // Same additions in the same order as an axpy per sample (bit-identical), batched.
      if (input_dense) K.weighted_rows_sum(x_base, in, samples.data(), deltas.data(), samples.size(), grow, in);
    }
  }
}

// What the hidden layers' pass left of the output gradient: its bias, and its weights when
// there is no hidden layer (they then multiply h0).
void Network::finish_output_gradient(size_t B, optim::DenseGrad& g) {
  const auto& K = kernels::active();
  const Workspace& ws = *ws_;
  const size_t last_width = blocks_[out_].cols - 1;
  float* gout = g.values.data();
  if (fc_.empty()) {  // the output reads the sparse-input layer: all its outputs, or the chosen ones
    const LayerInput x = layer_input(0);
    const size_t W0 = x.width;
    for (size_t s = 0; s < B; ++s) {
      if (x.dense)
        K.axpy(ws.dlogit[s], x.act + s * W0, gout, W0);
      else
        K.sparse_axpy(ws.dlogit[s], x.idx + s * W0, x.act + s * W0, W0, gout);
    }
  }
  for (size_t s = 0; s < B; ++s) gout[last_width] += ws.dlogit[s];
}

// The batch's (input table row, sample) pairs grouped by row: g.rows gets the rows, and
// row r's samples are row_samples[row_start[r] .. row_start[r + 1]), in sample order.
void Network::group_input_rows(const data::Batch& batch, const EmbedRows* rows, optim::SparseGrad& g,
                               const uint32_t*& row_start, const uint32_t*& row_samples) {
  Workspace& ws = *ws_;
  const size_t B = batch.rows;
  g.rows.clear();
  if (rows && rows->row_start) {
    // The rows' samples are grouped already (a sharded table's plan sorted the same
    // pairs): rows are the slots 0..n-1, in slot order.
    g.rows.resize(rows->row_count);
    std::iota(g.rows.begin(), g.rows.end(), 0u);
    row_start = rows->row_start;
    row_samples = rows->row_samples;
    return;
  }
  const uint32_t* row_of = rows ? rows->ids : batch.ids.data();
  auto& pairs = ws.id_pairs;
  pairs.resize(B * kIds);
#pragma omp parallel for schedule(static)
  for (size_t s = 0; s < B; ++s)
    for (int j = 0; j < kIds; ++j) pairs[s * kIds + j] = (static_cast<uint64_t>(row_of[s * kIds + j]) << 24) | s;
  radix_sort_by_id(pairs, ws.id_pairs_tmp, ws.scatter_counts);
  ws.row_start.clear();
  for (size_t e = 0; e < pairs.size(); ++e) {
    const uint32_t id = static_cast<uint32_t>(pairs[e] >> 24);
    if (g.rows.empty() || g.rows.back() != id) {
      g.rows.push_back(id);
      ws.row_start.push_back(static_cast<uint32_t>(e));
    }
  }
  ws.row_start.push_back(static_cast<uint32_t>(pairs.size()));
  ws.pair_sample.resize(pairs.size());
#pragma omp parallel for schedule(static)
  for (size_t e = 0; e < pairs.size(); ++e) ws.pair_sample[e] = static_cast<uint32_t>(pairs[e] & 0xFFFFFF);
  row_start = ws.row_start.data();
  row_samples = ws.pair_sample.data();
}

// Sparse-input layer: each touched row of the input table sums the deltas of its samples
// in sample order.
void Network::input_table_gradient(const data::Batch& batch, const EmbedRows* rows, optim::SparseGrad& g) {
  const auto& K = kernels::active();
  const Workspace& ws = *ws_;
  const size_t D = static_cast<size_t>(spec_.embed_dim);
  g.cols = D;
  const uint32_t* row_start = nullptr;  // per gradient row: its first entry of row_samples
  const uint32_t* row_samples = nullptr;
  group_input_rows(batch, rows, g, row_start, row_samples);
  // Every row is written below (no 2 MB zero fill per step): the first sample's delta is
  // copied, the others added in sample order. Same bits as summing onto zeros, except
  // that a -0.0 stays -0.0 (harmless: Adam and SGD treat both zeros alike).
  g.values.resize(g.rows.size() * D);
  const long nrows = static_cast<long>(g.rows.size());
#pragma omp parallel for schedule(static)
  for (long r = 0; r < nrows; ++r) {  // the row's samples' deltas, added in sample order
    float* out = &g.values[static_cast<size_t>(r) * D];
    const uint32_t* samples = &row_samples[row_start[r]];
    const float* first = &ws.d0[static_cast<size_t>(samples[0]) * D];
    std::copy(first, first + D, out);
    K.gather_rows_sum(ws.d0.data(), D, samples + 1, row_start[r + 1] - row_start[r] - 1, out, D);
  }
}

// The sparse-input layer's bias and dense projection: sums over the batch of its deltas
// (times the dense features for the projection).
void Network::input_bias_and_projection_gradient(const data::Batch& batch, std::vector<BlockGrad>& grads) {
  const auto& K = kernels::active();
  Workspace& ws = *ws_;
  const size_t B = batch.rows;
  const size_t D = static_cast<size_t>(spec_.embed_dim);
  float* gb = grads[embed_bias_].dense_grad.values.data();
  float* gp = dense_proj_ == SIZE_MAX ? nullptr : grads[dense_proj_].dense_grad.values.data();
  if (embed_sparse_) {  // only the chosen outputs have deltas
    const size_t W0 = embed_active();
    for (size_t s = 0; s < B; ++s) K.sparse_axpy(1.0f, &ws.idx0[s * W0], &ws.d0[s * W0], W0, gb);
    if (!gp) return;
#pragma omp parallel for schedule(static)
    for (int j = 0; j < kDense; ++j)
      for (size_t s = 0; s < B; ++s) {
        const float c = batch.dense[s * kDense + static_cast<size_t>(j)];
        if (c != 0.0f) K.sparse_axpy(c, &ws.idx0[s * W0], &ws.d0[s * W0], W0, gp + static_cast<size_t>(j) * D);
      }
    return;
  }
  for (size_t s = 0; s < B; ++s) K.add(&ws.d0[s * D], gb, D);
  if (!gp) return;
  // Feature j's values across the batch, contiguous: the coefficients of one
  // weighted_rows_sum over all samples' deltas (zeros skipped, as before).
  ws.dense_col.resize(static_cast<size_t>(kDense) * B);
  for (size_t s = 0; s < B; ++s)
    for (int j = 0; j < kDense; ++j) ws.dense_col[static_cast<size_t>(j) * B + s] = batch.dense[s * kDense + j];
#pragma omp parallel for schedule(static)
  for (int j = 0; j < kDense; ++j)
    K.weighted_rows_sum(ws.d0.data(), D, ws.iota.data(), ws.dense_col.data() + static_cast<size_t>(j) * B, B,
                        gp + static_cast<size_t>(j) * D, D);
}

}  // namespace sparsetrain::model
