// Reference output of the C++ featurizer, for checking scripts/pytorch_baseline.py's
// numpy re-implementation (scripts/pytorch_baseline.py --check-ids). Built with the other
// benchmarks (SPARSETRAIN_BUILD_BENCH) as build/bench_featurize_dump, which
// scripts/bench_all.sh runs:
//
//   bench_featurize_dump FILE INPUT_DIM [HASH_SEED] > dump.txt
//
// Output, one line per delivered row: label, the 39 ids, then the 13 dense values
// printed with %.9g (exact for float32), all space separated. Then a line
// "int_id_sweep" and, for field 0 and every v in [-100, 200000), int_id(0, true, v),
// one per line: covers every log_squared bin boundary under 2^16 and beyond.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/data/featurizer.h"

using namespace sparsetrain::data;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s FILE INPUT_DIM [HASH_SEED]\n", argv[0]);
    return 2;
  }
  ReaderOptions o;
  o.inputs = argv[1];
  o.featurizer.input_dim = std::strtoull(argv[2], nullptr, 10);
  o.featurizer.hash_seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 0;
  o.featurizer.dense_features = true;
  CriteoReader reader(o);
  Batch b;
  while (size_t n = reader.next_batch(b, 4096)) {
    for (size_t r = 0; r < n; ++r) {
      std::printf("%d", static_cast<int>(b.labels[r]));
      for (int k = 0; k < Featurizer::kIdsPerRow; ++k) std::printf(" %u", b.ids[r * Featurizer::kIdsPerRow + k]);
      for (int k = 0; k < Featurizer::kDensePerRow; ++k)
        std::printf(" %.9g", static_cast<double>(b.dense[r * Featurizer::kDensePerRow + k]));
      std::printf("\n");
    }
  }
  Featurizer fz(o.featurizer);
  std::printf("int_id_sweep\n");
  for (long v = -100; v < 200000; ++v) std::printf("%u\n", fz.int_id(0, true, v));
  return 0;
}
