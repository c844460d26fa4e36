#pragma once
// SIMD hot loops behind a plain function table (ggml/llama.cpp style).
//
// Every kernel exists as a scalar reference (scalar_table(), plain loops built for
// baseline x86-64) and, where the CPU has it, an AVX-512 version (avx512_table()).
// Callers fetch the process-wide table once per hot region with active() and call
// through its function pointers; select() picks the table at start-up.
//
// Common contract for all kernels: pointers need no particular alignment, any
// length (including 0) is valid, and nothing outside [0, n) is read or written.
// Input and output ranges must not overlap unless stated otherwise.
#include <cstddef>
#include <cstdint>
#include <string>

namespace sparsetrain::kernels {

struct AdamRowParams {     // one lazy-Adam step on a contiguous row
  float beta1, beta2;      // moment coefficients
  float m_decay, v_decay;  // extra decay for steps the row skipped: beta1^skipped, beta2^skipped (1 if none)
  float lr_t;              // lr * sqrt(1-beta2^t) / (1-beta1^t)  (bias-corrected step size)
  float eps_hat;           // eps * sqrt(1-beta2^t)
  float decoupled_wd;      // lr * weight_decay (AdamW style: w -= decoupled_wd * w before the step); 0 = off
  // bfloat16 moments only: the rounding bits of local row r are keyed by the global row
  // r * key_stride + key_offset (a sharded table's owner rounds as a replicated table does).
  uint32_t key_stride = 1, key_offset = 0;
};
// m = beta1*(m*m_decay) + (1-beta1)*g ; v = beta2*(v*v_decay) + (1-beta2)*g*g ;
// w -= decoupled_wd*w ; w -= lr_t * m / (sqrt(v) + eps_hat)

struct KernelTable {
  const char* name;  // "scalar" or "avx512"
  float (*dot)(const float* a, const float* b, size_t n);
  void (*axpy)(float alpha, const float* x, float* y, size_t n);  // y += alpha*x
  void (*add)(const float* x, float* y, size_t n);                // y += x
  void (*scale)(float alpha, float* x, size_t n);                 // x *= alpha
  // out[0..n) += sum_k table[rows[k]*row_stride + j]  (row ids may be up to 2^32; size_t math).
  // Rows are added in order k = 0..nrows-1, so scalar and AVX-512 results are bit-identical.
  void (*gather_rows_sum)(const float* table, size_t row_stride, const uint32_t* rows, size_t nrows, float* out,
                          size_t n);
  // out[0..n) += sum_k coeffs[k] * table[rows[k]*row_stride + j], rows in order k = 0..nrows-1,
  // rows with coeffs[k] == 0 skipped: exactly what calling axpy row by row gives (bit-identical
  // to this table's axpy), with the output kept in registers and one call per row list.
  void (*weighted_rows_sum)(const float* table, size_t row_stride, const uint32_t* rows, const float* coeffs,
                            size_t nrows, float* out, size_t n);
  // out[k] = dot(table + rows[k]*row_stride, x, n) for k in [0, nrows): bit-identical to this
  // table's dot called per row (the forward pass of a layer's active neurons in one call).
  void (*dot_rows)(const float* table, size_t row_stride, const uint32_t* rows, size_t nrows, const float* x, size_t n,
                   float* out);
  // sum_k w[idx[k]]*vals[k]  (any uint32 index is valid)
  float (*sparse_dot)(const float* w, const uint32_t* idx, const float* vals, size_t nnz);
  // y[idx[k]] += alpha*vals[k]  (idx must be unique: the AVX-512 version scatters 16 at a time)
  void (*sparse_axpy)(float alpha, const uint32_t* idx, const float* vals, size_t nnz, float* y);
  void (*relu_inplace)(float* x, size_t n);                         // x = x > 0 ? x : 0 (NaN -> 0)
  void (*relu_backward)(const float* act, float* delta, size_t n);  // delta[i] = act[i] > 0 ? delta[i] : 0
  void (*adam_row)(float* w, float* m, float* v, const float* g, size_t n, const AdamRowParams& p);
  void (*sgd_row)(float* w, const float* g, size_t n, float lr, float decoupled_wd);  // w -= decoupled_wd*w; w -= lr*g
  // adam_row on nrows scattered rows in one call: row rows[k] of w, m and v (row_stride
  // floats apart) with gradient g + k*n and decays m_decay[k], v_decay[k] (p's own decay
  // fields are ignored). Bit-identical to adam_row per row; the AVX-512 version prefetches
  // rows ahead and keeps the loop out of the per-row call path.
  void (*adam_rows)(float* w, float* m, float* v, size_t row_stride, const uint32_t* rows, size_t nrows, const float* g,
                    size_t n, const float* m_decay, const float* v_decay, const AdamRowParams& p);
  // adam_rows with m and v stored as bfloat16 (see bf16.h): each row's moments are widened
  // to float, updated with adam_row's arithmetic (the weight step uses the unrounded
  // moments), and stored back rounded stochastically with the bits
  // bf16_round_bits(bf16_row_keys(round_seed, global row of rows[k]).m / .v, column) (see
  // AdamRowParams::key_stride). So the result is
  // exactly this table's adam_row on the widened row followed by that rounding, on any thread.
  void (*adam_rows_bf16)(float* w, uint16_t* m, uint16_t* v, size_t row_stride, const uint32_t* rows, size_t nrows,
                         const float* g, size_t n, const float* m_decay, const float* v_decay, const AdamRowParams& p,
                         uint32_t round_seed);
  // Stable selection: writes vals[k] for the k in [0, n) with keys[k] == key, in order of k,
  // to out[0..), stopping after `limit` of them; returns how many it wrote (<= limit). Nothing
  // at or beyond out[limit] is touched. The LSH query's ranking by co-occurrence count
  // (one call per count level); scalar and AVX-512 results are identical.
  size_t (*select_equal)(const uint32_t* keys, const uint32_t* vals, size_t n, uint32_t key, size_t limit,
                         uint32_t* out);
};

enum class KernelChoice { Auto, Scalar, Avx512 };

const KernelTable& scalar_table();
// nullptr when the CPU (and OS) lack AVX-512F/DQ/BW/VL, or on non-x86 builds.
const KernelTable* avx512_table();
bool cpu_supports_avx512();

// Selects the process-wide table (thread-safe, but meant to be called once at start-up).
// Avx512 on a CPU without it throws std::runtime_error.
void select(KernelChoice);
// The selected table; before any select() call this is Auto (avx512 if supported, else scalar).
const KernelTable& active();

namespace detail {
// Internal: the AVX-512 table if this build compiled it, without checking the CPU.
// Use avx512_table() instead.
const KernelTable* avx512_table_unchecked();
}  // namespace detail

}  // namespace sparsetrain::kernels
