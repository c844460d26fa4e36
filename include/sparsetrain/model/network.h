#pragma once
// The sparse network: a sparse-input layer (sum of gathered rows of a wide table),
// fully connected ReLU layers whose neurons are picked per sample by LSH (or all of
// them when sparsity = 1), and a sigmoid click output trained with binary cross-entropy.
//
// Determinism: forward and per-sample backward run in parallel over samples, each
// sample writing only its own buffers; weight gradients run in parallel over ROWS,
// each row summing its samples in sample order. So results do not depend on the
// number of threads (only on the kernel table: AVX-512 and scalar round differently).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sparsetrain/data/featurizer.h"
#include "sparsetrain/lsh/neuron_index.h"
#include "sparsetrain/optim/param_block.h"

namespace sparsetrain::kernels {
struct KernelTable;
}

namespace sparsetrain::model {

// With model.embed_sparsity < 1 the sparse-input layer's outputs are chosen in blocks of this
// many: one block of a table row is one 64-byte cache line, so each chosen block costs one
// line per active id, and the Adam state of a block is one lazy "row" of its own.
inline constexpr size_t kEmbedBlock = 16;

struct NetworkSpec {
  uint64_t input_dim = 1 << 20;
  int embed_dim = 64;
  bool dense_features = true;  // 13 dense values through a (13 x embed_dim) projection
  // Fraction of the sparse-input layer's embed_dim outputs computed per sample (model.embed_sparsity):
  // 1 = all of them. Below 1: the ceil(embed_sparsity * embed_dim / kEmbedBlock) blocks of
  // kEmbedBlock outputs with the largest summed pre-activation, read from a table of every
  // row's block sums (input_dim x embed_dim / kEmbedBlock) that each update keeps exact. The
  // input table is then stored as rows of kEmbedBlock floats (same memory, row-major), so
  // backward and lazy Adam touch only the chosen blocks of the sample's rows.
  double embed_sparsity = 1.0;
  std::vector<int> hidden;       // FC widths
  std::vector<double> sparsity;  // per hidden layer, (0, 1]
  lsh::LshConfig lsh;            // family, K, L, capacity (input_dim and seed set per layer)
  int rebuild_every = 50;
  double rebuild_growth = 1.2;
  int rebuild_max = 5000;
  uint64_t seed = 42;
  // Initial weight scales (model.init): sparsetrain's own (small input-table rows, He for the
  // hidden layers over the inputs a neuron sees, biases 0), or PyTorch's defaults (the table
  // at std 0.01 as CTR code scales nn.Embedding; every Linear, bias included, uniform in
  // +-1/sqrt(fan_in)), for comparing with a PyTorch model trained from its defaults.
  enum class Init { Sparsetrain, Pytorch };
  Init init = Init::Sparsetrain;
  // Adam's moments of the sparse-input table ("embed") in bfloat16 (optim.moments, off by
  // default). The other blocks are small and stay float32.
  bool bf16_moments = false;
  // The input table's rows held by this process: all of them, or with
  // dist.embedding = sharded those of rank embed_shard_rank out of embed_shard_count
  // (optim/row_shard.h); the rows a batch needs then come through EmbedRows.
  uint32_t embed_shard_rank = 0, embed_shard_count = 1;
  // false: leave the weights at zero (a network whose parameters are about to be loaded,
  // e.g. on resume: drawing a billion random initial values takes ~50 s for nothing).
  bool initialize = true;
};

// Exact number of trainable parameters of a spec.
uint64_t parameter_count(const NetworkSpec& spec);

// Bytes this process's Network will hold at least: every block's weights, Adam moments and
// row steps (this rank's rows of a sharded table), and for each LSH layer its tables, hash
// projections and the weights the tables were built from. From the spec alone, so a config
// too large for the machine is refused before anything is allocated.
double state_bytes(const NetworkSpec& spec);

// Gradients of one step, in the order of Network::blocks().
struct BlockGrad {
  bool sparse = false;
  optim::SparseGrad sparse_grad;
  optim::DenseGrad dense_grad;
};

// Where the sparse-input layer reads a batch's rows: row ids[s * 39 + j] of `table` (row
// length embed_dim) for sample s's j-th feature. Null (the default) = the network's own
// "embed" block at the batch's feature ids. A sharded table passes the step's fetched rows
// and each feature's slot among them; slots must be numbered in the order of the feature
// ids, so the math (and its rounding) is the same either way. The embed gradient's rows
// are then slots, not feature ids.
struct EmbedRows {
  const float* table = nullptr;
  const uint32_t* ids = nullptr;  // batch.rows * 39
  // Optional: the backward's grouping of the features by row, when the caller has it (a
  // sharded table's plan sorts the same (row, position) pairs): row r of the gradient is
  // slot r, r < row_count, and its samples are row_samples[row_start[r] .. row_start[r+1]),
  // in position order (the order a stable sort by row gives; repeats kept).
  size_t row_count = 0;
  const uint32_t* row_start = nullptr;    // row_count + 1
  const uint32_t* row_samples = nullptr;  // batch.rows * 39
  // embed_sparsity < 1 (Network::choose_input_blocks made the choice): each sample's
  // chosen blocks (batch.rows x embed_active_blocks()), and `ids` holds, per sample and chosen
  // block, the slots of its 39 rows of kEmbedBlock floats (`table` has rows of kEmbedBlock). The
  // gradient's rows then come out as slots through sorted_slots: the slot of the i-th smallest
  // of the row_count distinct table rows (row_start and row_samples are not read).
  const uint32_t* chosen = nullptr;
  const uint32_t* sorted_slots = nullptr;
};

struct StepStats {
  double loss_sum = 0;  // sum of per-sample BCE over the batch
  uint64_t samples = 0;
  uint64_t active_neurons = 0;  // summed over samples and hidden layers
};

class Network {
 public:
  explicit Network(const NetworkSpec& spec);
  ~Network();

  const NetworkSpec& spec() const { return spec_; }
  // Parameter blocks in a fixed order: "embed", "embed_bias", ["dense_proj"], "fc1".., "out".
  std::vector<optim::ParamBlock>& blocks() { return blocks_; }
  const std::vector<optim::ParamBlock>& blocks() const { return blocks_; }
  uint64_t num_parameters() const;

  // Forward + backward on a batch. loss_scale multiplies every per-sample gradient
  // (1 / global batch size for the mean loss). `step` and `sample_base` (the global
  // index of the batch's first sample) seed the LSH top-ups, so replicas agree.
  void forward_backward(const data::Batch& batch, float loss_scale, uint64_t step, uint64_t sample_base,
                        std::vector<BlockGrad>& grads, StepStats& stats, const EmbedRows* rows = nullptr);

  // Click probabilities for a batch (same sparse path as training). LSH top-ups are
  // seeded as in forward_backward at step 0 with this sample_base (used by tests that
  // compare the two).
  void predict(const data::Batch& batch, uint64_t sample_base, float* probs, const EmbedRows* rows = nullptr);
  // Click probabilities for evaluation and serving: top-ups are seeded by each row's
  // content, so a row's probability depends only on the row and the model — not on its
  // position in the file, the batch, or which rank scores it.
  void infer(const data::Batch& batch, float* probs, const EmbedRows* rows = nullptr);
  // Index of the input table ("embed") in blocks().
  size_t embed_block() const { return embed_; }
  // The input table holds only this rank's rows (NetworkSpec::embed_shard_count > 1).
  bool table_sharded() const { return blocks_[embed_].shard.sharded(); }

  // LSH tables: rebuilt from the current weights when the schedule says so.
  bool rebuild_due(uint64_t step) const { return has_lsh_ && step >= next_rebuild_; }
  void rebuild(uint64_t step);  // rebuilds every sparse layer and advances the schedule
  // Rebuilds the tables from the current weights without touching the schedule (used when
  // restoring tables from saved source weights, or for model files that have none).
  void rebuild_tables();
  double rebuild_seconds_total() const { return rebuild_seconds_; }
  uint64_t rebuild_count() const { return rebuilds_; }
  // Schedule position, saved in checkpoints.
  uint64_t next_rebuild() const { return next_rebuild_; }
  double rebuild_interval() const { return rebuild_interval_; }
  void set_rebuild_schedule(uint64_t next, double interval) {
    next_rebuild_ = next;
    rebuild_interval_ = interval;
  }

  // Number of neurons each hidden layer computes per sample.
  const std::vector<size_t>& active_per_layer() const { return active_; }

  // The sparse-input layer: outputs computed per sample (embed_dim unless embed_sparsity < 1).
  size_t embed_active() const { return embed_sparse_ ? embed_active_blocks_ * kEmbedBlock : embed_width(); }
  bool embed_sparse() const { return embed_sparse_; }
  size_t embed_active_blocks() const { return embed_active_blocks_; }
  uint32_t embed_blocks() const { return static_cast<uint32_t>(embed_blocks_); }  // blocks per table row
  // embed_sparsity < 1: the optimizer changed these rows of "embed" (its rows of kEmbedBlock
  // floats, as the step's SparseGrad lists them; a sharded table: the owner's local rows):
  // brings their block sums up to date, so the next sample's choice of blocks sees the
  // current weights. No-op otherwise.
  void embed_rows_updated(const std::vector<uint32_t>& rows);
  // embed_sparsity < 1: every table row's block sum (one float per global row of "embed").
  // With a sharded table a refresh (construction, rebuild_tables) writes only this rank's
  // rows: block_sums_partial() says so until the caller has gathered the owners' entries
  // (embedding::ShardedTable::replicate_row_values) and calls block_sums_completed().
  std::span<float> block_sums() { return {block_sums_.data(), block_sums_.size()}; }
  bool block_sums_partial() const { return block_sums_partial_; }
  void block_sums_completed() { block_sums_partial_ = false; }
  // embed_sparsity < 1, for a table whose rows the caller fetches (sharded): the blocks each
  // sample of `batch` computes, chosen from the current weights exactly as forward chooses
  // them (batch.rows x embed_active_blocks(), ascending per sample). Sample s then reads
  // block b of its ids' table rows: global rows id * embed_dim / kEmbedBlock + b.
  void choose_input_blocks(const data::Batch& batch, std::vector<uint32_t>& chosen);
  // ---- What the last forward pass (predict, infer or forward_backward) selected. ----
  // For measuring the LSH selection (model/lsh_recall.h); read-only views of buffers the
  // forward fills anyway, so they cost nothing when unused. Valid until the next forward.
  // l is a hidden layer (0-based), s a sample of that batch; out of range: std::out_of_range.
  //
  // Rows of the last forward's batch (0 before any).
  size_t last_batch_rows() const;
  // The active_per_layer()[l] neuron ids layer l computed for sample s (distinct; all of
  // them in order 0, 1, ... when the layer is dense), in the order the forward used.
  std::span<const uint32_t> selection(size_t l, size_t s) const;
  // Their outputs (post-ReLU), in the order of selection(l, s).
  std::span<const float> selected_activations(size_t l, size_t s) const;
  // The pre-activations of ALL hidden[l] neurons of layer l for sample s: out[n] = w_n . x + b_n
  // (out is resized to hidden[l]), where x is the input the sample actually had in that forward
  // (the sparse-input layer's output for l = 0, else layer l-1's outputs at its selected
  // neurons, zero elsewhere) and the weights are the current ones. Same kernels and order of
  // operations as the forward, so with the same kernel table and unchanged weights
  // max(out[n], 0) is bit for bit the forward's output of every selected neuron n.
  void exact_preactivations(size_t l, size_t s, std::vector<float>& out) const;

 private:
  struct Workspace;
  enum class TopUpSeed { Position, RowContent };
  void forward(const data::Batch& batch, uint64_t step, uint64_t sample_base, TopUpSeed seed_by, const EmbedRows* rows);
  // forward()'s stages: the workspace, then per sample (thread tid) the sparse-input layer and the rest.
  void size_forward_workspace(size_t batch_rows);
  void input_layer_forward(const kernels::KernelTable& K, const data::Batch& batch, const float* table,
                           const uint32_t* row_of, size_t s);
  float hidden_layers_forward(const kernels::KernelTable& K, size_t s, uint64_t top_up_seed, int tid);
  void check_last_forward(size_t l, size_t s) const;  // for the accessors of the last forward
  // forward_backward's stages after forward(), in the order it runs them. Separate functions
  // only for reading: each keeps its OpenMP loop and the order of every floating-point operation.
  double output_delta(const data::Batch& batch, float loss_scale);  // returns the batch's BCE sum
  void backpropagate_deltas(size_t batch_rows);
  void backpropagate_layer(const kernels::KernelTable& K, size_t l, size_t s);
  void start_gradients(std::vector<BlockGrad>& grads);
  void list_layer_gradient_rows(size_t l, size_t batch_rows, optim::SparseGrad& g);
  void accumulate_layer_gradient(size_t l, size_t batch_rows, optim::SparseGrad& g, float* out_grad);
  void finish_output_gradient(size_t batch_rows, optim::DenseGrad& g);
  void group_input_rows(const data::Batch& batch, const EmbedRows* rows, optim::SparseGrad& g,
                        const uint32_t*& row_start, const uint32_t*& row_samples);
  void input_table_gradient(const data::Batch& batch, const EmbedRows* rows, optim::SparseGrad& g);
  void input_bias_and_projection_gradient(const data::Batch& batch, std::vector<BlockGrad>& grads);
  void init_weights();
  void fill_embed_blocks(optim::ParamBlock& b, size_t block_no, float a);  // init_weights: a sharded table of blocks
  size_t embed_width() const { return static_cast<size_t>(spec_.embed_dim); }
  // embed_sparsity < 1: sample s's chosen blocks and their outputs (instead of input_layer_forward).
  void sparse_input_layer_forward(const kernels::KernelTable& K, const data::Batch& batch, const EmbedRows* rows,
                                  size_t s);
  // Per-thread buffers (LSH queries, block scores) for the current thread count, and iota for B rows.
  void size_shared_scratch(size_t B);
  void sparse_input_gradient_to_slots(const EmbedRows& rows, optim::SparseGrad& g);
  void choose_blocks(const data::Batch& batch, size_t s, int tid, uint32_t* chosen);
  void sum_fixed_blocks();       // the bias's and dense projection's block sums, once per forward
  void refresh_block_sums();     // every row's block sums from the weights
  void rebuild_hidden_tables();  // the hidden layers' LSH tables
  void sparse_input_table_gradient(const data::Batch& batch, optim::SparseGrad& g);
  void list_id_blocks();                     // its first pass: each input id's gradient rows
  void sum_id_blocks(optim::SparseGrad& g);  // its second pass: their values
  // Layer l's input as forward() left it, for sample 0 (sample s at + s * width): dense (width =
  // the layer's input size) or the previous layer's active outputs (ids in idx).
  struct LayerInput {
    bool dense;
    size_t width;
    const uint32_t* idx;
    float* act;
    float* delta;
  };
  LayerInput layer_input(size_t l) const;  // the workspace is the forward's scratch, not the model's state

  NetworkSpec spec_;
  std::vector<optim::ParamBlock> blocks_;
  size_t embed_ = 0, embed_bias_ = 0, dense_proj_ = SIZE_MAX, out_ = 0;
  std::vector<size_t> fc_;                                // block index of each hidden layer
  bool embed_sparse_ = false;                             // embed_sparsity < 1
  size_t embed_blocks_ = 0, embed_active_blocks_ = 0;     // blocks per row; chosen per sample
  optim::FloatArray block_sums_;                          // input_dim x embed_blocks_ (embed_sparse_)
  bool block_sums_partial_ = false;                       // sharded: only this rank's rows are current
  std::vector<size_t> active_;                            // active neurons per hidden layer
  std::vector<bool> layer_dense_;                         // sparsity == 1
  std::vector<std::unique_ptr<lsh::NeuronIndex>> index_;  // per hidden layer (null when dense)
  bool has_lsh_ = false;
  uint64_t next_rebuild_ = 0;
  double rebuild_interval_ = 0;
  double rebuild_seconds_ = 0;
  uint64_t rebuilds_ = 0;
  std::unique_ptr<Workspace> ws_;
};

}  // namespace sparsetrain::model
