// Micro-benchmarks of the hot kernels (Google Benchmark), scalar and AVX-512 side by
// side in one run, at the shapes of the default model: 51 active neurons of a
// 1024 x 65 hidden layer over a 64-wide input, 39-row embedding gathers, 64-wide
// lazy-Adam rows. The /0 and /1 suffixes are the scalar and AVX-512 tables.
//
//   build/bench_kernels_microbench [--benchmark_filter=REGEX] [--benchmark_repetitions=N]
//
// Pairs to compare: DotPerRow vs DotRows and AxpyPerRow vs WeightedRowsSum (the same
// arithmetic, one call per row vs one call per row list), and each kernel /0 vs /1.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "sparsetrain/kernels/kernels.h"
#include "sparsetrain/util/random.h"

namespace k = sparsetrain::kernels;

namespace {

constexpr size_t kIn = 64, kCols = kIn + 1, kNeurons = 1024, kActive = 51;

const k::KernelTable* table_for(benchmark::State& state) {
  if (state.range(0) == 0) return &k::scalar_table();
  const k::KernelTable* t = k::avx512_table();
  if (!t) state.SkipWithError("CPU lacks AVX-512");
  return t;
}

struct Layer {
  std::vector<float> w, x, coeff, out;
  std::vector<uint32_t> rows;
  Layer() : w(kNeurons * kCols), x(kIn), coeff(kActive), out(kNeurons) {
    sparsetrain::util::Rng rng(1);
    for (auto& v : w) v = static_cast<float>(rng.uniform() - 0.5);
    for (auto& v : x) v = static_cast<float>(rng.uniform());
    for (auto& v : coeff) v = static_cast<float>(rng.uniform() - 0.5);
    for (size_t k = 0; k < kActive; ++k) rows.push_back(static_cast<uint32_t>(rng.below(kNeurons)));
  }
};

void DotPerRow(benchmark::State& state) {
  const k::KernelTable* t = table_for(state);
  if (!t) return;
  Layer L;
  for (auto _ : state) {
    for (size_t k = 0; k < kActive; ++k) L.out[k] = t->dot(&L.w[L.rows[k] * kCols], L.x.data(), kIn);
    benchmark::DoNotOptimize(L.out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kActive));
}

void DotRows(benchmark::State& state) {
  const k::KernelTable* t = table_for(state);
  if (!t) return;
  Layer L;
  for (auto _ : state) {
    t->dot_rows(L.w.data(), kCols, L.rows.data(), kActive, L.x.data(), kIn, L.out.data());
    benchmark::DoNotOptimize(L.out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kActive));
}

void AxpyPerRow(benchmark::State& state) {
  const k::KernelTable* t = table_for(state);
  if (!t) return;
  Layer L;
  for (auto _ : state) {
    for (size_t k = 0; k < kActive; ++k) t->axpy(L.coeff[k], &L.w[L.rows[k] * kCols], L.out.data(), kIn);
    benchmark::DoNotOptimize(L.out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kActive));
}

void WeightedRowsSum(benchmark::State& state) {
  const k::KernelTable* t = table_for(state);
  if (!t) return;
  Layer L;
  for (auto _ : state) {
    t->weighted_rows_sum(L.w.data(), kCols, L.rows.data(), L.coeff.data(), kActive, L.out.data(), kIn);
    benchmark::DoNotOptimize(L.out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kActive));
}

void GatherRowsSum39(benchmark::State& state) {  // one sample's embedding sum, rows in cache
  const k::KernelTable* t = table_for(state);
  if (!t) return;
  Layer L;
  std::vector<uint32_t> ids(L.rows.begin(), L.rows.begin() + 39);
  for (auto _ : state) {
    t->gather_rows_sum(L.w.data(), kCols, ids.data(), ids.size(), L.out.data(), kIn);
    benchmark::DoNotOptimize(L.out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 39));
}

void AdamRow64(benchmark::State& state) {  // arithmetic only: the row stays in L1
  const k::KernelTable* t = table_for(state);
  if (!t) return;
  std::vector<float> w(kIn, 0.1f), m(kIn, 0.0f), v(kIn, 0.0f), g(kIn, 0.01f);
  k::AdamRowParams p{0.9f, 0.999f, 1.0f, 1.0f, 1e-3f, 1e-8f, 0.0f};
  for (auto _ : state) {
    t->adam_row(w.data(), m.data(), v.data(), g.data(), kIn, p);
    benchmark::DoNotOptimize(w.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kIn));
}

}  // namespace

BENCHMARK(DotPerRow)->Arg(0)->Arg(1);
BENCHMARK(DotRows)->Arg(0)->Arg(1);
BENCHMARK(AxpyPerRow)->Arg(0)->Arg(1);
BENCHMARK(WeightedRowsSum)->Arg(0)->Arg(1);
BENCHMARK(GatherRowsSum39)->Arg(0)->Arg(1);
BENCHMARK(AdamRow64)->Arg(0)->Arg(1);
BENCHMARK_MAIN();
