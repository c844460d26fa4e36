#include "sparsetrain/app/commands.h"

#include <unistd.h>

#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "sparsetrain/synth/synth.h"
#include "sparsetrain/train/checkpointing.h"
#include "sparsetrain/train/model_loading.h"
#include "sparsetrain/train/run_dir.h"
#include "sparsetrain/train/scoring.h"
#include "sparsetrain/train/setup.h"
#include "sparsetrain/train/trainer.h"
#include "sparsetrain/util/commit_file.h"

namespace sparsetrain::app {
namespace {

bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

std::string describe_parameters(const model::Network& net) {
  std::ostringstream os;
  os << "parameters: " << net.num_parameters() << " (";
  bool first = true;
  double bytes = 0;
  for (const auto& b : net.blocks()) {
    os << (first ? "" : ", ") << b.name << " " << b.global_rows() << "x" << b.cols
       << (b.bf16_moments ? " (bfloat16 m, v)" : "");
    if (b.shard.sharded()) os << " (sharded: " << b.rows << " rows on this rank)";
    first = false;
    // What the arrays hold: w (4 bytes) + m, v (4 or 2 bytes each) per value + last_step (4 per row).
    for (const optim::ConstBlockArray& a : optim::block_arrays(b)) bytes += static_cast<double>(a.bytes());
  }
  os << "); weights + Adam state on this rank " << std::fixed << std::setprecision(2) << bytes / (1 << 30) << " GiB";
  return os.str();
}

}  // namespace

void print_usage(std::ostream& os) {
  os << "sparsetrain: sparse (LSH-selected) neural networks for click prediction on CPU clusters\n\n"
        "Usage: sparsetrain <command> [options]      (under mpirun: one rank per process)\n\n"
        "Commands:\n"
        "  train     --config FILE [--section.key VALUE ...]   train; writes model.h5 + metrics.jsonl\n"
        "  evaluate  --model M --data FILES                     print {\"rows\",\"auc\",\"logloss\"}\n"
        "  predict   --model M --data FILE --output OUT         one probability per input row\n"
        "  synth     --rows N --output FILE [...]               Criteo-like data with known best AUC\n\n"
        "'sparsetrain <command> --help' lists every option with its default and meaning.\n\n";
  cli::print_help(os, "train");
}

int command_train(const std::vector<std::string>& args, collective::Comm& comm) {
  if (wants_help(args)) {
    if (comm.is_root()) cli::print_help(std::cout, "train");
    return 0;
  }
  const cli::ParsedArgs parsed = cli::parse_args(args);
  const cli::Config& config = parsed.config;
  if (config.data.train.empty()) throw cli::ConfigError("data.train is empty; allowed: comma-separated paths or globs");
  // Missing or unreadable inputs stop the run here, before the model is allocated.
  data::expand_inputs(config.data.train);
  if (!config.data.test.empty()) data::expand_inputs(config.data.test);
  const std::string runtime = train::configure_runtime(config, &comm);
  train::claim_run_dir(config, comm);
  const std::string memory = train::check_memory(config, comm);
  if (comm.is_root()) {
    std::cout << "# sparsetrain train: " << comm.size() << " rank(s), " << runtime << "\n# " << memory
              << "\n# resolved config:\n";
    std::istringstream ini(cli::to_ini(config));
    for (std::string line; std::getline(ini, line);) std::cout << "#   " << line << "\n";
  }
  train::Trainer trainer(config, comm);
  if (comm.is_root()) std::cout << "# " << describe_parameters(trainer.network()) << std::endl;
  const train::TrainSummary summary = trainer.run();
  if (comm.is_root()) std::cout << train::to_json(summary) << std::endl;
  // Stopped by SIGTERM/SIGUSR1 after a checkpoint: a distinct status tells the batch script to requeue.
  return summary.stop_signal ? train::kExitCheckpointedStop : 0;
}

int command_evaluate(const std::vector<std::string>& args, collective::Comm& comm) {
  std::string model_path, data;
  std::vector<cli::ExtraOption> extras = {
      {"model", "model.h5 written by 'sparsetrain train'", "", true, &model_path},
      {"data", "labeled Criteo files: comma-separated paths or globs", "", true, &data}};
  if (wants_help(args)) {
    if (comm.is_root()) cli::print_help(std::cout, "evaluate", extras);
    return 0;
  }
  const train::LoadedModel loaded = train::load_model(args, extras, comm);
  const cli::Config& config = loaded.config;
  model::Network& net = *loaded.network;
  const train::EvalResult r = train::evaluate(net, config, data, comm);
  // Every line stays valid JSON: no rows is an error (a logloss of 0 would look perfect), and
  // an AUC that one label leaves undefined is null, with a warning.
  if (r.rows == 0)
    throw std::runtime_error("evaluate: no valid labeled rows in '" + data +
                             "' (the files are empty or every row was malformed)");
  if (comm.is_root()) {
    if (std::isnan(r.auc))
      std::cerr << "warning: evaluate: all " << r.rows << " rows have the same label, so the AUC is undefined (null)\n";
    std::ostringstream auc;
    auc << std::setprecision(6) << r.auc;
    std::cout << std::setprecision(6) << "{\"rows\":" << r.rows
              << ",\"auc\":" << (std::isnan(r.auc) ? "null" : auc.str()) << ",\"logloss\":" << r.logloss
              << (r.exact_auc ? "" : ",\"auc_exact\":false") << "}" << std::endl;
  }
  return 0;
}

// predict's output must not be one of the files it reads: opening it for writing would empty
// the input before a row is read (and the run would "succeed" with 0 rows).
void refuse_output_over_inputs(const std::string& output, const std::string& model,
                               const std::vector<data::InputFile>& data) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(output, ec)) return;
  std::vector<std::string> inputs = {model};
  for (const data::InputFile& f : data) inputs.push_back(f.path);
  for (const std::string& in : inputs)
    if (fs::equivalent(output, in, ec))
      throw cli::ConfigError("predict: --output '" + output + "' is the input file '" + in +
                             "'; choose another path (nothing was written)");
}

int command_predict(const std::vector<std::string>& args, collective::Comm& comm) {
  std::string model_path, data, output;
  std::vector<cli::ExtraOption> extras = {
      {"model", "model.h5 written by 'sparsetrain train'", "", true, &model_path},
      {"data", "Criteo file(s), labeled (40 columns) or not (39)", "", true, &data},
      {"output", "where to write one probability per input row, in input order", "", true, &output}};
  if (wants_help(args)) {
    if (comm.is_root()) cli::print_help(std::cout, "predict", extras);
    return 0;
  }
  const train::LoadedModel loaded = train::load_model(args, extras, comm);
  const cli::Config& config = loaded.config;
  model::Network& net = *loaded.network;
  // One writer keeps the input order: rank 0 reads and scores; with a sharded input table
  // the other ranks serve their rows until it is done.
  const bool root = comm.is_root();
  std::unique_ptr<data::CriteoReader> reader;
  std::ofstream out;
  std::string partial;
  struct RemovePartial {
    const std::string& path;
    bool keep = false;
    ~RemovePartial() {
      if (!keep && !path.empty()) std::remove(path.c_str());
    }
  } cleanup{partial};
  if (root) {
    data::ReaderOptions ro = train::reader_options(config, data, 0, 1, data::LabelMode::Optional);
    ro.emit_invalid = true;
    reader = std::make_unique<data::CriteoReader>(ro);
    refuse_output_over_inputs(output, model_path, reader->files());
    // Written under a temporary name and renamed when complete: a failed run leaves any
    // earlier file at `output` as it was.
    partial = output + ".tmp." + std::to_string(::getpid());
    out.open(partial);
    if (!out) throw std::runtime_error("cannot write '" + partial + "' (for '" + output + "')");
  }
  uint64_t rows = 0;
  char buf[32];
  train::score_batches(
      net, comm, [&](data::Batch& batch) { return root ? reader->next_batch(batch, 4096) : size_t{0}; },
      [&](const data::Batch& batch, const float* probs) {
        for (size_t i = 0; i < batch.rows; ++i) {
          if (batch.valid[i]) {
            std::snprintf(buf, sizeof buf, "%.6f\n", probs[i]);
            out << buf;
          } else {
            out << "nan\n";  // a malformed input row keeps its place
          }
        }
        rows += batch.rows;
      });
  if (!root) return 0;
  out.close();
  if (!out) throw std::runtime_error("error writing '" + partial + "' (for '" + output + "')");
  util::commit_file(partial, output);  // fsync, rename, fsync the directory: as model files
  cleanup.keep = true;
  std::cout << "{\"rows\":" << rows << ",\"skipped\":" << reader->stats().skipped << ",\"output\":\"" << output << "\"}"
            << std::endl;
  return 0;
}

int command_synth(const std::vector<std::string>& args, collective::Comm& comm) {
  namespace po = boost::program_options;
  synth::SynthOptions o;
  std::string profile = "kaggle";
  po::options_description desc("sparsetrain synth: Criteo-like TSV with a planted label model");
  desc.add_options()("help,h", "Show this help")("rows", po::value<uint64_t>(&o.rows)->default_value(o.rows),
                                                 "Number of rows")(
      "seed", po::value<uint64_t>(&o.seed)->default_value(o.seed), "Seed (same seed, same bytes)")(
      "profile", po::value<std::string>(&profile)->default_value(profile),
      "Planted model: kaggle (click rate ~25.6%), 1tb or lowctr (the same model at ~3%), "
      "or one differing in kind at kaggle's rate: crosses (signal in field crosses), nonmonotone "
      "(integer effects are waves/peaks), heavytail (more rare values, which carry signal), "
      "lighttail (signal in head values)")("output", po::value<std::string>(&o.output),
                                           "Output path; '.gz' writes gzip (required)")(
      "probabilities", po::value<std::string>(&o.probabilities_out),
      "Optional side file with each row's true click probability (for the best reachable AUC)")(
      "no-label", po::bool_switch(), "Write 39-column rows without the label (like Kaggle test.txt)")(
      "cardinality-scale", po::value<double>(&o.cardinality_scale)->default_value(1.0),
      "Multiplies every categorical field's vocabulary size")("threads", po::value<int>(&o.threads)->default_value(0),
                                                              "Generator threads (0 = all cores)");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw cli::ConfigError(std::string("synth: ") + e.what());
  }
  if (vm.count("help")) {
    if (comm.is_root()) std::cout << desc << "\n";
    return 0;
  }
  if (o.output.empty()) throw cli::ConfigError("synth: missing required option --output");
  if (o.rows == 0) throw cli::ConfigError("synth: --rows must be at least 1");
  if (!(o.cardinality_scale > 0)) throw cli::ConfigError("synth: --cardinality-scale must be > 0");
  o.profile = synth::parse_profile(profile);
  o.with_label = !vm["no-label"].as<bool>();
  if (!comm.is_root()) return 0;
  const synth::SynthReport r = synth::write_synthetic(o);
  std::cout << std::setprecision(6) << "{\"rows\":" << r.rows << ",\"bytes\":" << r.bytes
            << ",\"positive_rate\":" << r.positives_rate << ",\"seconds\":" << r.seconds
            << ",\"mb_per_s\":" << (static_cast<double>(r.bytes) / 1e6 / std::max(r.seconds, 1e-9)) << "}" << std::endl;
  return 0;
}

}  // namespace sparsetrain::app
