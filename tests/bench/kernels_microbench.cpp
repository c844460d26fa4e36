// Micro-benchmarks of the hot kernels (Google Benchmark), scalar and AVX-512 side by
// side in one run, at the shapes of the SLIDE-style model (sparsity 0.05): 51 active neurons of a
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

// The timing loop every layer benchmark shares: body(table, layer) once per iteration,
// `items` rows per call.
template <class Body> void time_layer(benchmark::State& state, size_t items, Body body) {
  const k::KernelTable* t = table_for(state);
  if (!t) return;
  Layer L;
  for (auto _ : state) {
    body(*t, L);
    benchmark::DoNotOptimize(L.out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * items));
}

void DotPerRow(benchmark::State& state) {
  time_layer(state, kActive, [](const k::KernelTable& t, Layer& L) {
    for (size_t k = 0; k < kActive; ++k) L.out[k] = t.dot(&L.w[L.rows[k] * kCols], L.x.data(), kIn);
  });
}

void DotRows(benchmark::State& state) {
  time_layer(state, kActive, [](const k::KernelTable& t, Layer& L) {
    t.dot_rows(L.w.data(), kCols, L.rows.data(), kActive, L.x.data(), kIn, L.out.data());
  });
}

void AxpyPerRow(benchmark::State& state) {
  time_layer(state, kActive, [](const k::KernelTable& t, Layer& L) {
    for (size_t k = 0; k < kActive; ++k) t.axpy(L.coeff[k], &L.w[L.rows[k] * kCols], L.out.data(), kIn);
  });
}

void WeightedRowsSum(benchmark::State& state) {
  time_layer(state, kActive, [](const k::KernelTable& t, Layer& L) {
    t.weighted_rows_sum(L.w.data(), kCols, L.rows.data(), L.coeff.data(), kActive, L.out.data(), kIn);
  });
}

void GatherRowsSum39(benchmark::State& state) {  // one sample's embedding sum, rows in cache
  time_layer(state, 39, [](const k::KernelTable& t, Layer& L) {
    t.gather_rows_sum(L.w.data(), kCols, L.rows.data(), 39, L.out.data(), kIn);
  });
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

// The LSH query's ranking at the default model's shape: ~110 candidates of 4 tables with
// co-occurrence counts 1..4, the best 31 kept, one select_equal call per count level.
void SelectEqualRanking(benchmark::State& state) {
  const k::KernelTable* t = table_for(state);
  if (!t) return;
  constexpr size_t kFound = 110, kTake = 31, kTables = 4;
  sparsetrain::util::Rng rng(3);
  std::vector<uint32_t> counts(kFound), ids(kFound), ranked(kFound);
  for (size_t i = 0; i < kFound; ++i) {
    const double u = rng.uniform();  // mostly 1, fewer 2, 3, 4 (as in training)
    counts[i] = u < 0.7 ? 1 : u < 0.9 ? 2 : u < 0.97 ? 3 : 4;
    ids[i] = static_cast<uint32_t>(rng.below(kNeurons));
  }
  for (auto _ : state) {
    size_t kept = 0;
    for (uint32_t c = kTables; c >= 1 && kept < kTake; --c)
      kept += t->select_equal(counts.data(), ids.data(), kFound, c, kTake - kept, ranked.data() + kept);
    benchmark::DoNotOptimize(ranked.data());
    benchmark::DoNotOptimize(kept);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kFound));
}

}  // namespace

BENCHMARK(DotPerRow)->Arg(0)->Arg(1);
BENCHMARK(DotRows)->Arg(0)->Arg(1);
BENCHMARK(AxpyPerRow)->Arg(0)->Arg(1);
BENCHMARK(WeightedRowsSum)->Arg(0)->Arg(1);
BENCHMARK(GatherRowsSum39)->Arg(0)->Arg(1);
BENCHMARK(AdamRow64)->Arg(0)->Arg(1);
BENCHMARK(SelectEqualRanking)->Arg(0)->Arg(1);
BENCHMARK_MAIN();
