// AVX-512 kernels (16 floats per vector). This file alone is compiled with
// -mavx512f/dq/bw/vl -mfma; nothing here may run unless the dispatcher in
// kernels.cpp has checked the CPU, so it exposes only the table getter.
//
// Every loop ends in a masked tail (_mm512_maskz_loadu_ps / _mm512_mask_storeu_ps),
// so any length and unaligned pointers work without reading or writing past the end
// (masked-out lanes of a masked load/store never fault).
#include "sparsetrain/kernels/bf16.h"
#include "sparsetrain/kernels/kernels.h"

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512BW__) && defined(__AVX512VL__)

#include <immintrin.h>

namespace sparsetrain::kernels {
namespace {

constexpr size_t kW = 16;  // floats per vector

// Mask with the low r lanes set, 0 < r < 16.
inline __mmask16 tail_mask(size_t r) { return static_cast<__mmask16>((1u << r) - 1u); }

// _mm512_i32gather_ps / _mm512_i32scatter_ps treat indices as *signed* 32-bit, so
// an index >= 2^31 would address before the base. Flipping the top bit maps
// idx -> idx - 2^31 (as int32), and moving the base up by 2^31 floats cancels it:
// (base + 2^31) + (idx - 2^31) == base + idx for every uint32 idx. The biased base
// is formed with integer arithmetic; only the final, in-bounds address is used.
inline const float* biased_base(const float* p) {
  return reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(p) + (uintptr_t{1} << 31) * sizeof(float));
}
inline float* biased_base(float* p) {
  return reinterpret_cast<float*>(reinterpret_cast<uintptr_t>(p) + (uintptr_t{1} << 31) * sizeof(float));
}
inline __m512i bias_index(__m512i idx) { return _mm512_xor_si512(idx, _mm512_set1_epi32(INT32_MIN)); }

// GCC 12.2's unmasked _mm512_i32gather_ps, _mm512_sqrt_ps, _mm512_reduce_add_ps and
// _mm512_castps512_ps256 are built on _mm512_undefined_ps(), which trips
// -Wuninitialized (GCC PR 105593). We use masked forms (same instructions) and this
// hand-written reduction instead.
inline float hsum(__m512 v) {
  const __m256 s8 = _mm256_add_ps(_mm512_extractf32x8_ps(v, 0), _mm512_extractf32x8_ps(v, 1));
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  s4 = _mm_add_ss(s4, _mm_movehdup_ps(s4));
  return _mm_cvtss_f32(s4);
}
inline __m512 gather(__m512i biased_idx, const float* base, __mmask16 m) {
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, biased_idx, base, 4);
}

// Applies body(i, mask) to every 16-float block of [0, n): full blocks with an
// all-ones mask, then one masked tail block. For the element-wise kernels.
template <class Body> inline void for_blocks(size_t n, Body body) {
  size_t i = 0;
  for (; i + kW <= n; i += kW) body(i, static_cast<__mmask16>(0xFFFF));
  if (i < n) body(i, tail_mask(n - i));
}

float dot(const float* a, const float* b, size_t n) {
  // Four independent accumulators hide the FMA latency (4 cycles, 2 per cycle).
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 4 * kW <= n; i += 4 * kW) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + kW), _mm512_loadu_ps(b + i + kW), acc1);
    acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 2 * kW), _mm512_loadu_ps(b + i + 2 * kW), acc2);
    acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 3 * kW), _mm512_loadu_ps(b + i + 3 * kW), acc3);
  }
  for (; i + kW <= n; i += kW) acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  return hsum(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

void axpy(float alpha, const float* x, float* y, size_t n) {
  const __m512 va = _mm512_set1_ps(alpha);
  for_blocks(n, [&](size_t i, __mmask16 m) {
    const __m512 r = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i));
    _mm512_mask_storeu_ps(y + i, m, r);
  });
}

void add(const float* x, float* y, size_t n) {
  for_blocks(n, [&](size_t i, __mmask16 m) {
    const __m512 r = _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + i), _mm512_maskz_loadu_ps(m, x + i));
    _mm512_mask_storeu_ps(y + i, m, r);
  });
}

void scale(float alpha, float* x, size_t n) {
  const __m512 va = _mm512_set1_ps(alpha);
  for_blocks(n, [&](size_t i, __mmask16 m) {
    _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), va));
  });
}

// Sums all rows into B consecutive 16-float output blocks starting at out, keeping
// the B accumulators in registers for the whole pass over the rows. The last block
// uses last_mask (all-ones when it is full). Rows are added in order, exactly like
// the scalar reference, so the results are bit-identical.
template <int B>
inline void gather_rows_blocks(const float* table, size_t row_stride, const uint32_t* rows, size_t nrows, float* out,
                               __mmask16 last_mask) {
  auto mask_of = [last_mask](int b) { return b == B - 1 ? last_mask : static_cast<__mmask16>(0xFFFF); };
  __m512 acc[B];
  for (int b = 0; b < B; ++b) acc[b] = _mm512_maskz_loadu_ps(mask_of(b), out + b * kW);
  for (size_t k = 0; k < nrows; ++k) {
    const float* row = table + static_cast<size_t>(rows[k]) * row_stride;
    for (int b = 0; b < B; ++b) acc[b] = _mm512_add_ps(acc[b], _mm512_maskz_loadu_ps(mask_of(b), row + b * kW));
  }
  for (int b = 0; b < B; ++b) _mm512_mask_storeu_ps(out + b * kW, mask_of(b), acc[b]);
}

// Runs pass.template operator()<B>(j, last_mask) over the columns [0, n) of the row
// kernels: full passes of 8 blocks (128 floats, 8 of the 32 zmm registers), then one
// pass with just enough blocks for the rest, its last block masked. A typical hidden
// layer (or embedding) fits in one pass, so each row is streamed exactly once.
template <class Pass> inline void column_passes(size_t n, Pass pass) {
  constexpr int kMaxBlocks = 8;
  size_t j = 0;
  for (; j + kMaxBlocks * kW <= n; j += kMaxBlocks * kW) pass.template operator()<kMaxBlocks>(j, 0xFFFF);
  const size_t rest = n - j;
  if (rest == 0) return;
  const __mmask16 last = rest % kW == 0 ? static_cast<__mmask16>(0xFFFF) : tail_mask(rest % kW);
  switch ((rest + kW - 1) / kW) {
    case 1: pass.template operator()<1>(j, last); break;
    case 2: pass.template operator()<2>(j, last); break;
    case 3: pass.template operator()<3>(j, last); break;
    case 4: pass.template operator()<4>(j, last); break;
    case 5: pass.template operator()<5>(j, last); break;
    case 6: pass.template operator()<6>(j, last); break;
    case 7: pass.template operator()<7>(j, last); break;
    default: pass.template operator()<8>(j, last); break;
  }
}

void gather_rows_sum(const float* table, size_t row_stride, const uint32_t* rows, size_t nrows, float* out, size_t n) {
  column_passes(n, [&]<int B>(size_t j, __mmask16 last) {
    gather_rows_blocks<B>(table + j, row_stride, rows, nrows, out + j, last);
  });
}

// Like gather_rows_blocks, with a coefficient per row: acc = fmadd(c, row, acc) is the
// same operation as axpy's, in the same row order, so the results are bit-identical to
// calling axpy per row, without loading and storing the output for every row.
template <int B>
inline void weighted_rows_blocks(const float* table, size_t row_stride, const uint32_t* rows, const float* coeffs,
                                 size_t nrows, float* out, __mmask16 last_mask) {
  auto mask_of = [last_mask](int b) { return b == B - 1 ? last_mask : static_cast<__mmask16>(0xFFFF); };
  __m512 acc[B];
  for (int b = 0; b < B; ++b) acc[b] = _mm512_maskz_loadu_ps(mask_of(b), out + b * kW);
  for (size_t k = 0; k < nrows; ++k) {
    if (coeffs[k] == 0.0f) continue;
    const __m512 c = _mm512_set1_ps(coeffs[k]);
    const float* row = table + static_cast<size_t>(rows[k]) * row_stride;
    for (int b = 0; b < B; ++b) acc[b] = _mm512_fmadd_ps(c, _mm512_maskz_loadu_ps(mask_of(b), row + b * kW), acc[b]);
  }
  for (int b = 0; b < B; ++b) _mm512_mask_storeu_ps(out + b * kW, mask_of(b), acc[b]);
}

void weighted_rows_sum(const float* table, size_t row_stride, const uint32_t* rows, const float* coeffs, size_t nrows,
                       float* out, size_t n) {
  column_passes(n, [&]<int B>(size_t j, __mmask16 last) {
    weighted_rows_blocks<B>(table + j, row_stride, rows, coeffs, nrows, out + j, last);
  });
}

// dot() inlined per row: no call through the table per neuron, and the out-of-order
// core overlaps one row's horizontal sum with the next row's loads.
void dot_rows(const float* table, size_t row_stride, const uint32_t* rows, size_t nrows, const float* x, size_t n,
              float* out) {
  for (size_t k = 0; k < nrows; ++k) out[k] = dot(table + static_cast<size_t>(rows[k]) * row_stride, x, n);
}

float sparse_dot(const float* w, const uint32_t* idx, const float* vals, size_t nnz) {
  const float* base = biased_base(w);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  size_t k = 0;
  for (; k + 2 * kW <= nnz; k += 2 * kW) {
    const __m512i i0 = bias_index(_mm512_loadu_si512(idx + k));
    const __m512i i1 = bias_index(_mm512_loadu_si512(idx + k + kW));
    acc0 = _mm512_fmadd_ps(gather(i0, base, 0xFFFF), _mm512_loadu_ps(vals + k), acc0);
    acc1 = _mm512_fmadd_ps(gather(i1, base, 0xFFFF), _mm512_loadu_ps(vals + k + kW), acc1);
  }
  for (; k < nnz; k += kW) {  // at most two more blocks, the last one possibly partial
    const __mmask16 m = nnz - k >= kW ? static_cast<__mmask16>(0xFFFF) : tail_mask(nnz - k);
    const __m512i i0 = bias_index(_mm512_maskz_loadu_epi32(m, idx + k));
    const __m512 wv = gather(i0, base, m);
    acc0 = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, vals + k), acc0);
  }
  return hsum(_mm512_add_ps(acc0, acc1));
}

void sparse_axpy(float alpha, const uint32_t* idx, const float* vals, size_t nnz, float* y) {
  // Gather, FMA, scatter. Correct only because the indices are unique: a repeated
  // index within one 16-lane block would lose all but one of its updates.
  float* base = biased_base(y);
  const __m512 va = _mm512_set1_ps(alpha);
  for_blocks(nnz, [&](size_t k, __mmask16 m) {
    const __m512i i0 = bias_index(_mm512_maskz_loadu_epi32(m, idx + k));
    const __m512 yv = gather(i0, base, m);
    const __m512 r = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, vals + k), yv);
    _mm512_mask_i32scatter_ps(base, m, i0, r, 4);
  });
}

void relu_inplace(float* x, size_t n) {
  const __m512 zero = _mm512_setzero_ps();
  for_blocks(n, [&](size_t i, __mmask16 m) {
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    // Ordered compare: NaN and -0 become +0, exactly as in the scalar version.
    const __mmask16 pos = _mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ);
    _mm512_mask_storeu_ps(x + i, m, _mm512_maskz_mov_ps(pos, v));
  });
}

void relu_backward(const float* act, float* delta, size_t n) {
  const __m512 zero = _mm512_setzero_ps();
  for_blocks(n, [&](size_t i, __mmask16 m) {
    const __mmask16 pos = _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(m, act + i), zero, _CMP_GT_OQ);
    _mm512_mask_storeu_ps(delta + i, m, _mm512_maskz_loadu_ps(m & pos, delta + i));
  });
}

// One Adam step on 16 lanes, shared by adam_row and adam_rows_bf16 so both run the same
// operations in the same order (the bfloat16 kernel differs only in how m and v are
// loaded and stored). m_old, v_old: the stored moments; md, vd: their decays for the
// steps the row skipped.
struct AdamVec {
  __m512 b1, b2, c1, c2, lr, eps, wd;
  explicit AdamVec(const AdamRowParams& p)
      : b1(_mm512_set1_ps(p.beta1)),
        b2(_mm512_set1_ps(p.beta2)),
        c1(_mm512_set1_ps(1.0f - p.beta1)),
        c2(_mm512_set1_ps(1.0f - p.beta2)),
        lr(_mm512_set1_ps(p.lr_t)),
        eps(_mm512_set1_ps(p.eps_hat)),
        wd(_mm512_set1_ps(p.decoupled_wd)) {}
  struct Out {
    __m512 m, v, w;
  };
  Out step(__mmask16 k, __m512 m_old, __m512 v_old, __m512 md, __m512 vd, __m512 gi, __m512 wi) const {
    // Same operation order as the scalar reference; the FMAs round once fewer.
    const __m512 mi = _mm512_fmadd_ps(b1, _mm512_mul_ps(m_old, md), _mm512_mul_ps(c1, gi));
    const __m512 vi = _mm512_fmadd_ps(b2, _mm512_mul_ps(v_old, vd), _mm512_mul_ps(_mm512_mul_ps(c2, gi), gi));
    wi = _mm512_fnmadd_ps(wd, wi, wi);  // w -= wd*w
    // Exact IEEE sqrt and division (not rsqrt14/rcp14): must match scalar to ~1 ulp.
    const __m512 step = _mm512_div_ps(_mm512_mul_ps(lr, mi), _mm512_add_ps(_mm512_maskz_sqrt_ps(k, vi), eps));
    return {mi, vi, _mm512_sub_ps(wi, step)};
  }
};

void adam_row(float* w, float* m, float* v, const float* g, size_t n, const AdamRowParams& p) {
  const AdamVec a(p);
  const __m512 md = _mm512_set1_ps(p.m_decay), vd = _mm512_set1_ps(p.v_decay);
  for_blocks(n, [&](size_t i, __mmask16 k) {
    const AdamVec::Out o = a.step(k, _mm512_maskz_loadu_ps(k, m + i), _mm512_maskz_loadu_ps(k, v + i), md, vd,
                                  _mm512_maskz_loadu_ps(k, g + i), _mm512_maskz_loadu_ps(k, w + i));
    _mm512_mask_storeu_ps(m + i, k, o.m);
    _mm512_mask_storeu_ps(v + i, k, o.v);
    _mm512_mask_storeu_ps(w + i, k, o.w);
  });
}

void adam_rows(float* w, float* m, float* v, size_t row_stride, const uint32_t* rows, size_t nrows, const float* g,
               size_t n, const float* m_decay, const float* v_decay, const AdamRowParams& p) {
  // Scattered rows wait on memory: start loading w, m, v of the row kAhead rows ahead.
  // 8, not 4: once training is past the rows that initialisation left in the cache, most
  // rows come from DRAM (~100+ ns) while a row's update takes ~20 ns.
  constexpr size_t kAhead = 8;
  AdamRowParams q = p;
  for (size_t k = 0; k < nrows; ++k) {
    if (k + kAhead < nrows) {
      const size_t ahead = static_cast<size_t>(rows[k + kAhead]) * row_stride;
      for (size_t b = 0; b < n * sizeof(float); b += 64) {  // w, m, v line by line
        __builtin_prefetch(reinterpret_cast<const char*>(w + ahead) + b, 1);
        __builtin_prefetch(reinterpret_cast<const char*>(m + ahead) + b, 1);
        __builtin_prefetch(reinterpret_cast<const char*>(v + ahead) + b, 1);
      }
    }
    const size_t off = static_cast<size_t>(rows[k]) * row_stride;
    q.m_decay = m_decay[k];
    q.v_decay = v_decay[k];
    adam_row(w + off, m + off, v + off, g + k * n, n, q);
  }
}

// GCC 12's plain forms of these integer intrinsics start from _mm512_undefined_*() and
// trip -Wmaybe-uninitialized when inlined; the zero-masked forms with all lanes set are
// the same instructions without that.
constexpr __mmask16 kAll = 0xFFFF;
inline __m512i srli32(__m512i x, unsigned s) { return _mm512_maskz_srli_epi32(kAll, x, s); }

// 16 bfloat16 -> float (the bits become the upper half of each float).
inline __m512 load_bf16(__mmask16 k, const uint16_t* p) {
  const __m512i wide = _mm512_maskz_cvtepu16_epi32(kAll, _mm256_maskz_loadu_epi16(k, p));
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll, wide, 16));
}
// bf16_round_stochastic (bf16.h) on 16 lanes: r holds the random bits in its low 16.
inline void store_bf16_stochastic(__mmask16 k, uint16_t* p, __m512 x, __m512i r) {
  const __m512i bits = _mm512_castps_si512(x);
  const __m512i exp_mask = _mm512_set1_epi32(0x7F800000);
  const __mmask16 special = _mm512_cmpeq_epi32_mask(_mm512_and_si512(bits, exp_mask), exp_mask);  // inf, NaN
  const __m512i r16 = _mm512_maskz_and_epi32(static_cast<__mmask16>(~special), r, _mm512_set1_epi32(0xFFFF));
  __m512i out = srli32(_mm512_add_epi32(bits, r16), 16);
  const __mmask16 nan = _mm512_mask_test_epi32_mask(special, bits, _mm512_set1_epi32(0x007FFFFF));
  out = _mm512_mask_or_epi32(out, nan, out, _mm512_set1_epi32(0x40));
  _mm256_mask_storeu_epi16(p, k, _mm512_maskz_cvtepi32_epi16(kAll, out));
}
void adam_rows_bf16(float* w, uint16_t* m, uint16_t* v, size_t row_stride, const uint32_t* rows, size_t nrows,
                    const float* g, size_t n, const float* m_decay, const float* v_decay, const AdamRowParams& p,
                    uint32_t round_seed) {
  constexpr size_t kAhead = 4;
  const AdamVec a(p);
  // bf16_round_bits for columns 0..15 (lane * kBf16ColumnStep); + i * kBf16ColumnStep for block i.
  alignas(64) uint32_t lane_steps[16];
  for (uint32_t l = 0; l < 16; ++l) lane_steps[l] = l * kBf16ColumnStep;
  const __m512i lane_step = _mm512_load_si512(lane_steps);
  for (size_t k = 0; k < nrows; ++k) {
    if (k + kAhead < nrows) {  // scattered rows wait on memory: start loading a later row
      const size_t ahead = static_cast<size_t>(rows[k + kAhead]) * row_stride;
      for (size_t b = 0; b < n * sizeof(float); b += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(w + ahead) + b, 1);
      for (size_t b = 0; b < n * sizeof(uint16_t); b += 64) {
        __builtin_prefetch(reinterpret_cast<const char*>(m + ahead) + b, 1);
        __builtin_prefetch(reinterpret_cast<const char*>(v + ahead) + b, 1);
      }
    }
    const size_t off = static_cast<size_t>(rows[k]) * row_stride;
    float* wr = w + off;
    uint16_t* mr = m + off;
    uint16_t* vr = v + off;
    const float* gk = g + k * n;
    const __m512 md = _mm512_set1_ps(m_decay[k]), vd = _mm512_set1_ps(v_decay[k]);
    const Bf16RowKeys keys = bf16_row_keys(round_seed, rows[k] * p.key_stride + p.key_offset);
    const __m512i key_m = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(keys.m)), lane_step);
    const __m512i key_v = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(keys.v)), lane_step);
    for_blocks(n, [&](size_t i, __mmask16 msk) {
      const AdamVec::Out o = a.step(msk, load_bf16(msk, mr + i), load_bf16(msk, vr + i), md, vd,
                                    _mm512_maskz_loadu_ps(msk, gk + i), _mm512_maskz_loadu_ps(msk, wr + i));
      const __m512i block = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(i) * kBf16ColumnStep));
      store_bf16_stochastic(msk, mr + i, o.m, srli32(_mm512_add_epi32(key_m, block), 16));
      store_bf16_stochastic(msk, vr + i, o.v, srli32(_mm512_add_epi32(key_v, block), 16));
      _mm512_mask_storeu_ps(wr + i, msk, o.w);
    });
  }
}

void sgd_row(float* w, const float* g, size_t n, float lr, float decoupled_wd) {
  const __m512 vlr = _mm512_set1_ps(lr), wd = _mm512_set1_ps(decoupled_wd);
  for_blocks(n, [&](size_t i, __mmask16 k) {
    __m512 wi = _mm512_maskz_loadu_ps(k, w + i);
    wi = _mm512_fnmadd_ps(wd, wi, wi);
    wi = _mm512_fnmadd_ps(vlr, _mm512_maskz_loadu_ps(k, g + i), wi);
    _mm512_mask_storeu_ps(w + i, k, wi);
  });
}

// 16 keys per compare; the matching values are compressed into the low lanes of a
// register and stored with a mask of exactly that many lanes (a compress straight to
// memory is slow on Intel cores). The block that would pass `limit` keeps only its first
// matches, so the output never grows past limit.
size_t select_equal(const uint32_t* keys, const uint32_t* vals, size_t n, uint32_t key, size_t limit, uint32_t* out) {
  const __m512i vkey = _mm512_set1_epi32(static_cast<int>(key));
  size_t written = 0;
  for (size_t k = 0; k < n && written < limit; k += kW) {
    const __mmask16 in = n - k >= kW ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - k);
    __mmask16 hit = _mm512_mask_cmpeq_epi32_mask(in, _mm512_maskz_loadu_epi32(in, keys + k), vkey);
    size_t cnt = static_cast<size_t>(__builtin_popcount(hit));
    while (written + cnt > limit) {  // keep the first (limit - written) matches: clear the highest bits
      hit = static_cast<__mmask16>(hit & ~(1u << (31 - __builtin_clz(static_cast<unsigned>(hit)))));
      --cnt;
    }
    const __m512i packed = _mm512_maskz_compress_epi32(hit, _mm512_maskz_loadu_epi32(in, vals + k));
    _mm512_mask_storeu_epi32(out + written, cnt == kW ? static_cast<__mmask16>(0xFFFF) : tail_mask(cnt), packed);
    written += cnt;
  }
  return written;
}

constexpr KernelTable kAvx512Table{
    .name = "avx512",
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

const KernelTable* detail::avx512_table_unchecked() { return &kAvx512Table; }

}  // namespace sparsetrain::kernels

#else  // compiler did not get the AVX-512 flags (e.g. a non-x86 build)

namespace sparsetrain::kernels {
const KernelTable* detail::avx512_table_unchecked() { return nullptr; }
}  // namespace sparsetrain::kernels

#endif
