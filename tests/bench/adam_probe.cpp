// Is the embedding table's lazy Adam update bound by memory or by arithmetic?
// Times optim::Optimizer::apply on a (rows x 64) block for the same number of
// touched rows per step, picked either at random over the whole table (what
// training does: ~8k distinct rows of 2^20 per batch of 1024) or as one
// consecutive run (same arithmetic, streaming memory access).
// Built with the other benchmarks (SPARSETRAIN_BUILD_BENCH) as build/bench_adam_probe:
//   OMP_NUM_THREADS=1 build/bench_adam_probe [table_rows=1048576] [touched=8000] [steps=200] [moments=float32|bfloat16]
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "sparsetrain/optim/optimizer.h"
#include "sparsetrain/optim/param_block.h"

using namespace sparsetrain::optim;

static double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char** argv) {
  const size_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : (1u << 20);
  const size_t touched = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 8000;
  const int steps = argc > 3 ? std::atoi(argv[3]) : 200;
  const bool bf16 = argc > 4 && std::string(argv[4]) == "bfloat16";
  const size_t cols = 64;
  ParamBlock block;
  block.allocate(rows, cols, true, bf16);
  Optimizer opt(OptimizerOptions{});
  std::mt19937_64 rng(1);
  std::vector<float> g(touched * cols);
  for (auto& x : g) x = std::uniform_real_distribution<float>(-1e-3f, 1e-3f)(rng);

  for (int mode = 0; mode < 2; ++mode) {
    double cpu = 0;
    for (int s = 1; s <= steps; ++s) {
      SparseGrad grad;
      grad.cols = cols;
      if (mode == 0) {  // random distinct rows, sorted (as the trainer's gradients are)
        std::vector<uint32_t> pick(touched);
        for (auto& r : pick) r = static_cast<uint32_t>(rng() % rows);
        std::sort(pick.begin(), pick.end());
        pick.erase(std::unique(pick.begin(), pick.end()), pick.end());
        grad.rows = pick;
      } else {  // one consecutive run of rows, at a random place
        const size_t start = rng() % (rows - touched);
        grad.rows.resize(touched);
        std::iota(grad.rows.begin(), grad.rows.end(), static_cast<uint32_t>(start));
      }
      grad.values.assign(g.begin(), g.begin() + grad.rows.size() * cols);
      opt.begin_step(static_cast<uint64_t>(s));
      const double c0 = cpu_now();
      opt.apply(block, grad);
      cpu += cpu_now() - c0;
    }
    const double per_row_ns = cpu / (static_cast<double>(steps) * touched) * 1e9;
    std::printf("%-12s %zu rows x %zu of a %zu-row table: %.1f ns per row, %.2f ns per parameter, %.2f ms per step\n",
                mode == 0 ? "random rows" : "consecutive", touched, cols, rows, per_row_ns, per_row_ns / cols,
                cpu / steps * 1e3);
  }
  return 0;
}
