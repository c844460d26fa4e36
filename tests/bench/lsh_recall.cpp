// How well a trained model's LSH picks each hidden layer's neurons: the recall of the
// selected neurons against the exact top-k by pre-activation, and the share of the top-k's
// positive activation mass they carry (model/lsh_recall.h), next to a random selection of
// the same size. Built with the other benchmarks (SPARSETRAIN_BUILD_BENCH) as
// build/bench_lsh_recall; scripts/bench_parity.py --sweep-sparsity runs it on each run's model.
//
//   bench_lsh_recall --model run/model.h5 --data test.tsv [--rows N] [--section.key V ...]
//
// Scores the rows as `sparsetrain evaluate` does (Network::infer: top-ups seeded by the
// row's content), so the selection is the one evaluation and serving use. Configuration keys
// override the model file's config as in evaluate (e.g. --train.threads). Prints one JSON
// line per hidden layer:
//   {"layer":1,"k":..,"width":..,"recall":..,"random_recall":..,"mass_captured":..,
//    "random_mass_captured":..,"samples":..}
// Single process (no MPI); a model trained with a sharded table is read whole.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "sparsetrain/cli/config.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/data/shard.h"
#include "sparsetrain/model/lsh_recall.h"
#include "sparsetrain/model/network.h"
#include "sparsetrain/train/model_loading.h"
#include "sparsetrain/train/setup.h"
#include "sparsetrain/util/json_number.h"

using namespace sparsetrain;
using util::json_number;

namespace {

uint64_t parse_rows(const std::string& s) {
  size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (s.empty() || used != s.size() || s[0] == '-')
    throw cli::ConfigError("--rows '" + s + "' is not a row count; allowed: an integer >= 0 (0 = every row)");
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string model_path, data, rows_s = "0";
    const std::vector<cli::ExtraOption> extras = {
        {"model", "model.h5 written by 'sparsetrain train'", "", true, &model_path},
        {"data", "Criteo file(s), labeled or not: comma-separated paths or globs", "", true, &data},
        {"rows", "score at most this many rows, from the start (0 = every row)", "0", false, &rows_s},
    };
    const std::vector<std::string> args(argv + 1, argv + argc);
    for (const auto& a : args)
      if (a == "--help" || a == "-h") {
        cli::print_help(std::cout, "lsh_recall", extras);
        return 0;
      }
    // Serial outside mpirun; a model trained with a sharded table is then read whole.
    collective::Comm& comm = collective::Comm::world(&argc, &argv);
    const train::LoadedModel loaded = train::load_model(args, extras, comm);
    const cli::Config& config = loaded.config;
    std::cerr << "lsh_recall: " << loaded.runtime << "\n";
    model::Network& net = *loaded.network;
    const uint64_t max_rows = parse_rows(rows_s);
    data::expand_inputs(data);  // a missing input stops here, with its path
    if (net.spec().hidden.empty()) throw std::runtime_error("the model in '" + model_path + "' has no hidden layers");
    model::RecallMeter meter(net);
    data::CriteoReader reader(train::reader_options(config, data, 0, 1, data::LabelMode::Optional));
    data::Batch batch;
    std::vector<float> probs;
    uint64_t rows = 0;
    const uint64_t limit = max_rows > 0 ? max_rows : std::numeric_limits<uint64_t>::max();
    while (rows < limit) {
      const size_t n = reader.next_batch(batch, static_cast<size_t>(std::min<uint64_t>(4096, limit - rows)));
      if (n == 0) break;
      probs.resize(n);
      net.infer(batch, probs.data());
      meter.add_last_batch(net);
      rows += n;
    }
    if (rows == 0)
      throw std::runtime_error("no valid rows in '" + data + "' (the files are empty or every row was malformed)");
    for (const model::LayerRecall& r : meter.layers())
      std::cout << "{\"layer\":" << r.layer << ",\"k\":" << r.k << ",\"width\":" << r.width
                << ",\"recall\":" << json_number(r.recall) << ",\"random_recall\":" << json_number(r.random_recall)
                << ",\"mass_captured\":" << json_number(r.mass_captured)
                << ",\"random_mass_captured\":" << json_number(r.random_mass_captured) << ",\"samples\":" << r.samples
                << "}" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "lsh_recall: error: " << e.what() << "\n";
    return 2;
  }
}
