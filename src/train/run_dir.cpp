#include "sparsetrain/train/run_dir.h"

#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>

#include "sparsetrain/checkpoint/checkpoint_dir.h"

namespace sparsetrain::train {
namespace {

namespace fs = std::filesystem;

// "" when nothing would be replaced, else what holds an earlier run's results.
std::string earlier_results(const fs::path& dir, bool has_checkpoints) {
  std::string found;
  std::error_code ec;
  auto add = [&](const char* what) { found += (found.empty() ? "" : ", ") + std::string(what); };
  if (fs::exists(dir / "model.h5", ec)) add("model.h5");
  const auto metrics_bytes = fs::file_size(dir / "metrics.jsonl", ec);
  if (!ec && metrics_bytes > 0) add("metrics.jsonl");
  if (has_checkpoints) add("checkpoints/");
  return found;
}

// Rank 0's verdict: "" to go on, else the error message.
std::string check_run_dir(const cli::Config& config) {
  const fs::path dir(config.train.run_dir);
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    return "train.run_dir '" + dir.string() + "' exists and is not a directory";
  const bool has_checkpoints = !checkpoint::list_checkpoints(checkpoint::checkpoint_dir(dir.string())).empty();
  if (has_checkpoints && config.checkpoint.resume == cli::Resume::Auto) return "";  // a resume continues this run
  const std::string found = earlier_results(dir, has_checkpoints);
  if (found.empty()) return "";
  if (!config.train.overwrite)
    return "train.run_dir '" + dir.string() + "' holds the results of an earlier run (" + found +
           "); choose another train.run_dir, or pass --train.overwrite true to replace them";
  if (fs::remove(dir / "model.h5", ec); ec)
    return "cannot remove the earlier run's '" + (dir / "model.h5").string() + "': " + ec.message();
  std::cerr << "note: train.overwrite: replacing the earlier run's " << found << " in " << dir.string() << "\n";
  return "";
}

}  // namespace

void claim_run_dir(const cli::Config& config, collective::Comm& comm) {
  std::string error;
  if (comm.is_root()) error = check_run_dir(config);
  comm.broadcast(error, 0);
  if (!error.empty()) throw std::runtime_error(error);
}

}  // namespace sparsetrain::train
