// Scalar reference kernels: plain, obviously-correct loops. Built for baseline
// x86-64 (the compiler may auto-vectorize the element-wise ones with SSE2, which
// does not change their results). These define the semantics the AVX-512 versions
// are tested against.
#include <cmath>
#include <vector>

#include "sparsetrain/kernels/bf16.h"
#include "sparsetrain/kernels/kernels.h"

namespace sparsetrain::kernels {
namespace {

float dot(const float* a, const float* b, size_t n) {
  float s = 0.0f;
  for (size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy(float alpha, const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void add(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] += x[i];
}

void scale(float alpha, float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] *= alpha;
}

void gather_rows_sum(const float* table, size_t row_stride, const uint32_t* rows, size_t nrows, float* out, size_t n) {
  for (size_t k = 0; k < nrows; ++k) {
    const float* row = table + static_cast<size_t>(rows[k]) * row_stride;
    for (size_t j = 0; j < n; ++j) out[j] += row[j];
  }
}

void weighted_rows_sum(const float* table, size_t row_stride, const uint32_t* rows, const float* coeffs, size_t nrows,
                       float* out, size_t n) {
  for (size_t k = 0; k < nrows; ++k)
    if (coeffs[k] != 0.0f) axpy(coeffs[k], table + static_cast<size_t>(rows[k]) * row_stride, out, n);
}

void dot_rows(const float* table, size_t row_stride, const uint32_t* rows, size_t nrows, const float* x, size_t n,
              float* out) {
  for (size_t k = 0; k < nrows; ++k) out[k] = dot(table + static_cast<size_t>(rows[k]) * row_stride, x, n);
}

float sparse_dot(const float* w, const uint32_t* idx, const float* vals, size_t nnz) {
  float s = 0.0f;
  for (size_t k = 0; k < nnz; ++k) s += w[idx[k]] * vals[k];
  return s;
}

void sparse_axpy(float alpha, const uint32_t* idx, const float* vals, size_t nnz, float* y) {
  for (size_t k = 0; k < nnz; ++k) y[idx[k]] += alpha * vals[k];
}

void relu_inplace(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(const float* act, float* delta, size_t n) {
  for (size_t i = 0; i < n; ++i) delta[i] = act[i] > 0.0f ? delta[i] : 0.0f;
}

void adam_row(float* w, float* m, float* v, const float* g, size_t n, const AdamRowParams& p) {
  const float c1 = 1.0f - p.beta1;
  const float c2 = 1.0f - p.beta2;
  for (size_t i = 0; i < n; ++i) {
    const float mi = p.beta1 * (m[i] * p.m_decay) + c1 * g[i];
    const float vi = p.beta2 * (v[i] * p.v_decay) + c2 * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    float wi = w[i];
    wi -= p.decoupled_wd * wi;
    wi -= p.lr_t * mi / (std::sqrt(vi) + p.eps_hat);
    w[i] = wi;
  }
}

void sgd_row(float* w, const float* g, size_t n, float lr, float decoupled_wd) {
  for (size_t i = 0; i < n; ++i) {
    float wi = w[i];
    wi -= decoupled_wd * wi;
    wi -= lr * g[i];
    w[i] = wi;
  }
}

void adam_rows(float* w, float* m, float* v, size_t row_stride, const uint32_t* rows, size_t nrows, const float* g,
               size_t n, const float* m_decay, const float* v_decay, const AdamRowParams& p) {
  AdamRowParams q = p;
  for (size_t k = 0; k < nrows; ++k) {
    const size_t off = static_cast<size_t>(rows[k]) * row_stride;
    q.m_decay = m_decay[k];
    q.v_decay = v_decay[k];
    adam_row(w + off, m + off, v + off, g + k * n, n, q);
  }
}

void adam_rows_bf16(float* w, uint16_t* m, uint16_t* v, size_t row_stride, const uint32_t* rows, size_t nrows,
                    const float* g, size_t n, const float* m_decay, const float* v_decay, const AdamRowParams& p,
                    uint32_t round_seed) {
  // The contract, literally: adam_row on the widened moments, then stochastic rounding.
  std::vector<float> mf(n), vf(n);
  AdamRowParams q = p;
  for (size_t k = 0; k < nrows; ++k) {
    const size_t off = static_cast<size_t>(rows[k]) * row_stride;
    for (size_t i = 0; i < n; ++i) {
      mf[i] = bf16_to_float(m[off + i]);
      vf[i] = bf16_to_float(v[off + i]);
    }
    q.m_decay = m_decay[k];
    q.v_decay = v_decay[k];
    adam_row(w + off, mf.data(), vf.data(), g + k * n, n, q);
    const Bf16RowKeys key = bf16_row_keys(round_seed, rows[k] * p.key_stride + p.key_offset);
    for (size_t i = 0; i < n; ++i) {
      m[off + i] = bf16_round_stochastic(mf[i], bf16_round_bits(key.m, static_cast<uint32_t>(i)));
      v[off + i] = bf16_round_stochastic(vf[i], bf16_round_bits(key.v, static_cast<uint32_t>(i)));
    }
  }
}

size_t select_equal(const uint32_t* keys, const uint32_t* vals, size_t n, uint32_t key, size_t limit, uint32_t* out) {
  size_t written = 0;
  for (size_t k = 0; k < n && written < limit; ++k)
    if (keys[k] == key) out[written++] = vals[k];
  return written;
}

constexpr KernelTable kScalarTable{
    .name = "scalar",
    .dot = dot,
    .axpy = axpy,
    .add = add,
    .scale = scale,
    .gather_rows_sum = gather_rows_sum,
    .weighted_rows_sum = weighted_rows_sum,
    .dot_rows = dot_rows,
    .sparse_dot = sparse_dot,
    .sparse_axpy = sparse_axpy,
    .relu_inplace = relu_inplace,
    .relu_backward = relu_backward,
    .adam_row = adam_row,
    .sgd_row = sgd_row,
    .adam_rows = adam_rows,
    .adam_rows_bf16 = adam_rows_bf16,
    .select_equal = select_equal,
};

}  // namespace

const KernelTable& scalar_table() { return kScalarTable; }

}  // namespace sparsetrain::kernels
