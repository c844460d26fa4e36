#pragma once
#include <cstdint>
#include <string>

#include "sparsetrain/cli/option_enums.h"
// THE one place where every configuration key is declared: section, name, C++ type,
// default, allowed values and help text. The Config structs, the INI/CLI parser,
// the validation, `--help` and the resolved-config dump are all generated from
// these lists, so a key cannot exist in one of them and be missing from another.
//
// X(section, name, type, default, rule, help)
//   rule: a Rule (see config.h) saying what values are allowed; a key with a fixed set of
//         values has an enum type (option_enums.h) and the rule one_of_enum<Enum>().

// clang-format off
#define ST_KEYS_data(X)                                                                                 \
  X(data, train,        std::string, "",        any_text(),                                             \
    "Training files: comma-separated paths or globs; plain TSV or gzip (by its magic bytes)")                           \
  X(data, test,         std::string, "",        any_text(),                                             \
    "Held-out files for evaluation (AUC, logloss); empty = no evaluation")                               \
  X(data, on_error,     OnError, OnError::Skip,    one_of_enum<OnError>(),                               \
    "Malformed rows: 'skip' counts, warns (file, line, field) and skips them; 'fail' stops the run")     \
  X(data, max_warnings, int,         10,        int_range(0, 1000000),                                  \
    "How many malformed rows are reported in full before only counting them")                             \
  X(data, input_dim,    int64_t,     1048576,   int_range(16, 4294967296LL),                             \
    "Hashed feature space: categorical and binned integer values hash into [0, input_dim)")              \
  X(data, int_encoding, IntEncoding, IntEncoding::LogSquared, one_of_enum<IntEncoding>(),                \
    "Integer features -> tokens: 'log_squared' bins v>2 as floor(ln(v)^2); 'identity' keeps v")          \
  X(data, dense_features, bool,      true,      any_bool(),                                             \
    "Also feed log(1+max(v,0)) of the 13 integer fields through a dense projection")                     \
  X(data, hash_seed,    int64_t,     0,         int_range(0, 9223372036854775807LL),                     \
    "Seed of the feature hash (changing it changes every feature id)")

#define ST_KEYS_model(X)                                                                                \
  X(model, embed_dim,   int,         64,        int_range(1, 65536),                                    \
    "Width of the sparse-input layer's output (row length of the input weight table)")                   \
  X(model, embed_sparsity, double,    1.0,       real_range(0.0, 1.0),                                   \
    "Fraction of the sparse-input layer's embed_dim outputs computed per sample (1 = all): blocks of 16 with the largest summed pre-activation; below 1 needs embed_dim a multiple of 16 (with a sharded table only the chosen blocks of a row are fetched)") \
  X(model, hidden,      std::string, "1024",    int_list(1, 1 << 24),                                   \
    "Hidden fully connected layer widths, comma separated (e.g. '1024,256'); may be empty")              \
  X(model, sparsity,    std::string, "0.03",    fraction_list(),                                        \
    "Per hidden layer: fraction of neurons computed per sample via LSH (1 = dense); one value = all")    \
  X(model, init_seed,   int64_t,     -1,        int_range(-1, 9223372036854775807LL),                    \
    "Seed for weight init; -1 = derive from train.seed")                                                 \
  X(model, init, InitScheme, InitScheme::Sparsetrain, one_of_enum<InitScheme>(),                         \
    "Initial weight scales: 'sparsetrain' (input-table rows at 0.1 of unit variance for the 39-row sum, He hidden layers, zero biases) or 'pytorch' (PyTorch's Linear defaults, biases included, and the table at std 0.01)")

#define ST_KEYS_lsh(X)                                                                                  \
  X(lsh, family,        LshFamily, LshFamily::SimHash, one_of_enum<LshFamily>(),                            \
    "Hash family over neuron weights: signed random projections or densified winner-take-all")          \
  X(lsh, bits,          int,         4,         int_range(1, 20),                                       \
    "K: bits per table (2^K buckets; 2 x 4 bits beat 2 x 5 in 19 of 24 cells of 6 synth profiles x 2 seed sets; scripts/bench/results/parity_lsh_bits.md)") \
  X(lsh, tables,        int,         2,         int_range(1, 1024),                                     \
    "L: number of hash tables (2 tables: at least as accurate as 4 on all 6 synth profiles, and faster; scripts/bench/results/parity_defaults.md)") \
  X(lsh, bucket_capacity, int,       128,       int_range(1, 1 << 20),                                  \
    "Fixed capacity of each bucket (reservoir-sampled when full)")                                       \
  X(lsh, rebuild_every, int,         50,        int_range(1, 1 << 30),                                  \
    "Steps before the first rebuild of the tables from the current weights")                             \
  X(lsh, rebuild_growth, double,     1.2,       real_range(1.0, 100.0),                                 \
    "Each rebuild multiplies the interval to the next one by this factor (SLIDE's decaying schedule)")   \
  X(lsh, rebuild_max,   int,         5000,      int_range(1, 1 << 30),                                  \
    "Upper bound on the interval between rebuilds, in steps")

#define ST_KEYS_optim(X)                                                                                \
  X(optim, name,        OptimizerName, OptimizerName::Adam,    one_of_enum<OptimizerName>(),                                \
    "Optimizer: lazy (sparse) Adam or plain SGD")                                                        \
  X(optim, lr,          double,      0.001,     real_range(0.0, 10.0),                                  \
    "Learning rate")                                                                                     \
  X(optim, beta1,       double,      0.9,       real_range(0.0, 0.9999),                              \
    "Adam beta1")                                                                                        \
  X(optim, beta2,       double,      0.999,     real_range(0.0, 0.99999),                               \
    "Adam beta2 (at most 0.99999: the kernels work in float, where 1 - beta2 loses precision beyond)") \
  X(optim, eps,         double,      1e-8,      real_range(1e-30, 1.0),                                 \
    "Adam epsilon")                                                                                      \
  X(optim, weight_decay, double,     0.0,       real_range(0.0, 1.0),                                   \
    "Decoupled weight decay (AdamW style), applied to touched rows only")                                \
  X(optim, warmup_steps, int,        0,         int_range(0, 1 << 30),                                  \
    "Linear learning-rate warm-up over this many steps")                                                 \
  X(optim, lr_schedule, LrSchedule, LrSchedule::Linear, one_of_enum<LrSchedule>(),                         \
    "'linear': the rate falls linearly from optim.lr at the first step to optim.lr x optim.lr_final at the run's last; 'constant': optim.lr throughout") \
  X(optim, lr_final,    double,      0.1,       real_range(0.0, 1.0),                                   \
    "With lr_schedule linear: the rate at the last step, as a fraction of optim.lr")                     \
  X(optim, schedule_steps, int64_t,  0,         int_range(0, 9223372036854775807LL),                     \
    "With lr_schedule linear: the step at which the rate reaches its final value (0 = train.epochs x the training rows / train.batch_size rounded up, the rows counted in files of up to 32 MiB and estimated from the first 32 MiB of larger ones; train.max_steps only stops a run, so a run stopped there and resumed follows the same schedule)") \
  X(optim, moments,     Moments, Moments::Float32, one_of_enum<Moments>(),                          \
    "Adam's m and v of the sparse-input table: 'float32', or 'bfloat16' (stochastically rounded): 8 instead of 12 bytes per parameter, at a measured cost of 0.0005-0.006 test AUC (README)") \
  X(optim, skipped_steps, SkippedSteps, SkippedSteps::Decay, one_of_enum<SkippedSteps>(),                  \
    "Lazy Adam on the steps a row skips: 'decay' its moments by beta^k as dense Adam's zero gradients would, or 'hold' them until its next update (PyTorch SparseAdam, TF LazyAdam)") \
  X(optim, table_eps,   TableEps, TableEps::Corrected, one_of_enum<TableEps>(),                           \
    "Where Adam's eps enters for the sparse-input table: 'corrected' beside sqrt of the bias-corrected v (PyTorch's Adam; every other block), or 'raw' beside sqrt of the raw v (PyTorch's SparseAdam, TF's Adam): an effective eps of eps/sqrt(1-beta2^t)")

#define ST_KEYS_train(X)                                                                                \
  X(train, batch_size,  int,         1024,      int_range(1, 1 << 22),                                  \
    "Global batch size (split across ranks)")                                                            \
  X(train, epochs,      int,         1,         int_range(1, 1 << 20),                                  \
    "Passes over the training data")                                                                     \
  X(train, max_steps,   int64_t,     0,         int_range(0, 9223372036854775807LL),                     \
    "Stop after this many steps (0 = run all epochs)")                                                   \
  X(train, threads,     int,         0,         int_range(0, 4096),                                     \
    "OpenMP threads per rank (0 = OMP_NUM_THREADS if set, else the rank's fair share of the CPUs it may use, each CPU split among the ranks of the node allowed on it)")                                        \
  X(train, seed,        int64_t,     42,        int_range(0, 9223372036854775807LL),                     \
    "Seed of everything random (init, LSH, sampling)")                                                   \
  X(train, kernels,     Kernels, Kernels::Auto,    one_of_enum<Kernels>(),                   \
    "SIMD kernels: 'auto' picks AVX-512 when the CPU has it")                                            \
  X(train, denormals,   Denormals, Denormals::Flush,   one_of_enum<Denormals>(),                              \
    "Subnormal floats: 'flush' to zero (FTZ+DAZ on every thread; Intel cores otherwise take ~100-cycle assists on Adam's decayed moments), or 'keep' (IEEE gradual underflow)") \
  X(train, run_dir,     std::string, "runs/default", nonempty_text(),                                   \
    "Directory for model.h5, metrics.jsonl, config.ini and checkpoints")                                 \
  X(train, overwrite,   bool,        false,     any_bool(),                                             \
    "Replace the results of an earlier run in train.run_dir; without it a run directory holding model.h5, metrics.jsonl or checkpoints is refused unless this run resumes from them") \
  X(train, log_every,   int,         100,       int_range(1, 1 << 30),                                  \
    "Steps between metrics lines / progress lines")                                                      \
  X(train, eval_every,  int,         0,         int_range(0, 1 << 30),                                  \
    "Steps between evaluations on data.test (0 = only at the end)")

#define ST_KEYS_dist(X)                                                                                 \
  X(dist, exchange,     Exchange, Exchange::Auto,    one_of_enum<Exchange>(),                    \
    "Gradient exchange between ranks: touched rows only, dense allreduce, or pick per layer by bytes")   \
  X(dist, embedding,    Embedding, Embedding::Sharded, one_of_enum<Embedding>(),                      \
    "Input table across ranks: 'sharded' (row g on rank g mod P, which alone keeps its Adam state) or"    \
    "'replicated' (a full copy on every rank)")                                                          \
  X(dist, verify_every, int,         0,         int_range(0, 1 << 30),                                  \
    "Every N steps compare a checksum of what is replicated, and of the sharded rows, across ranks (0 = never)")

#define ST_KEYS_checkpoint(X)                                                                           \
  X(checkpoint, every_steps,   int64_t,   0,    int_range(0, 9223372036854775807LL),                     \
    "Checkpoint every N steps (0 = off)")                                                                \
  X(checkpoint, every_minutes, double,    0.0,  real_range(0.0, 1e9),                                   \
    "Checkpoint when N minutes of wall time have passed since the last one ended (0 = off)")             \
  X(checkpoint, keep,          int,       3,    int_range(1, 1000),                                     \
    "How many complete checkpoints to keep")                                                             \
  X(checkpoint, resume,        Resume, Resume::Auto, one_of_enum<Resume>(),                          \
    "'auto' continues from the newest complete checkpoint in train.run_dir")

#define ST_CONFIG_SECTIONS(S) S(data) S(model) S(lsh) S(optim) S(train) S(dist) S(checkpoint)
// clang-format on
