// Checkpoint scheduling, stop signals and resume for the training loop (checkpointing.h).
#include "sparsetrain/train/checkpointing.h"

#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "sparsetrain/checkpoint/checkpoint_dir.h"

namespace sparsetrain::train {

data::PieceRemainder piece_remainder(const checkpoint::DataRemainder& r) {
  data::PieceRemainder p;
  p.piece = {r.file, r.begin, r.end, static_cast<uint32_t>(r.stride), static_cast<uint32_t>(r.phase)};
  p.offset = r.offset;
  p.line_index = r.line_index;
  return p;
}
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// --- stop signals -------------------------------------------------------------------
// The handler only records the signal; the loop acts on it between steps.
volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }
struct sigaction g_old_term {
}, g_old_usr1{};

void install_stop_handlers() {
  g_stop_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // reads and MPI calls carry on; the flag is checked after the step
  sigaction(SIGTERM, &sa, &g_old_term);
  sigaction(SIGUSR1, &sa, &g_old_usr1);
}
void restore_stop_handlers() {
  sigaction(SIGTERM, &g_old_term, nullptr);
  sigaction(SIGUSR1, &g_old_usr1, nullptr);
}
const char* signal_name(int sig) { return sig == SIGTERM ? "SIGTERM" : sig == SIGUSR1 ? "SIGUSR1" : "signal"; }

// --- config compatibility -----------------------------------------------------------
// Keys that decide what the parameters mean: a checkpoint written with other values
// belongs to another experiment, and resuming it would be wrong, not just different.
bool identity_key(const std::string& key) {
  static const char* fixed[] = {"data.train",     "data.input_dim", "data.int_encoding", "data.dense_features",
                                "data.hash_seed", "train.seed",     "train.batch_size"};
  for (const char* k : fixed)
    if (key == k) return true;
  return key.rfind("model.", 0) == 0 || key.rfind("lsh.", 0) == 0;
}

// Throws when an identity key differs; lists the other changed keys on stderr.
void check_config(const std::string& saved_ini, const std::string& current_ini, const std::string& path) {
  const auto saved = cli::ini_key_values(saved_ini), now = cli::ini_key_values(current_ini);
  std::string wrong, changed;
  for (const auto& [key, value] : now) {
    const auto it = saved.find(key);
    const std::string old = it == saved.end() ? "(absent)" : it->second;
    if (old == value) continue;
    (identity_key(key) ? wrong : changed) += "\n  " + key + ": checkpoint '" + old + "', now '" + value + "'";
  }
  if (!wrong.empty())
    throw std::runtime_error(
        "checkpoint '" + path + "' was written by a run with another config:" + wrong +
        "\nuse another train.run_dir, or --checkpoint.resume never --train.overwrite true to start over here");
  if (!changed.empty()) std::cerr << "note: resuming with changed settings:" << changed << "\n";
}

uint64_t bits_of(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
double double_of(uint64_t b) {
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

}  // namespace

void truncate_metrics(const std::string& path, uint64_t bytes) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) {
    if (bytes > 0) std::cerr << "warning: " << path << " is missing; the resumed run starts a new one\n";
    return;
  }
  if (size > bytes) {
    fs::resize_file(path, bytes, ec);
    if (ec) throw std::runtime_error("cannot truncate " + path + ": " + ec.message());
  } else if (size < bytes) {
    std::cerr << "warning: " << path << " has " << size << " bytes, the checkpoint saw " << bytes
              << "; lines are missing before the resume point\n";
  }
}

Checkpointing::Checkpointing(const cli::Config& config, collective::Comm& comm, model::Network& network)
    : config_(config),
      comm_(comm),
      network_(network),
      dir_(checkpoint::checkpoint_dir(config.train.run_dir)),
      last_time_(Clock::now()) {
  tables_.capture(network_);  // the constructor built the tables from the initial weights
  install_stop_handlers();
}

Checkpointing::~Checkpointing() { restore_stop_handlers(); }

bool Checkpointing::periodic() const {
  return config_.checkpoint.every_steps > 0 || config_.checkpoint.every_minutes > 0;
}

void Checkpointing::set_aside_old_checkpoints() const {
  // Old checkpoints of an earlier run must not be picked up by a later auto resume.
  if (!comm_.is_root() || checkpoint::list_checkpoints(dir_).empty()) return;
  const std::string aside = dir_ + ".replaced-" + std::to_string(std::time(nullptr));
  fs::rename(dir_, aside);
  std::cerr << "note: checkpoint.resume = never: moved the existing checkpoints to " << aside << "\n";
}

std::string Checkpointing::load_replicated(checkpoint::TrainState& state) {
  if (const size_t n = checkpoint::remove_stale_temporaries(dir_))
    std::cerr << "note: removed " << n << " unfinished checkpoint file(s) of a killed run in " << dir_ << "\n";
  const auto found = checkpoint::list_checkpoints(dir_);
  std::string last_error;
  try {
    for (const auto& c : found) {
      try {
        check_config(checkpoint::read_checkpoint_state(c.path).config_ini, cli::to_ini(config_), c.path);
        state = checkpoint::load_checkpoint(c.path, network_, tables_);
        return "ok " + c.path;
      } catch (const checkpoint::CheckpointError& e) {
        last_error = e.what();
        std::cerr << "warning: " << e.what() << "\nwarning: moved it to " << checkpoint::quarantine_checkpoint(c.path)
                  << "; trying the previous checkpoint\n";
      }
    }
  } catch (const std::exception& e) {  // a config mismatch: stop, keep the files
    return std::string("error ") + e.what();
  }
  if (found.empty()) return "";
  return "error none of the " + std::to_string(found.size()) + " checkpoint(s) in " + dir_ +
         " is usable (last problem: " + last_error + ")";
}

void Checkpointing::share_loaded_state(checkpoint::TrainState& state) {
  // Rank 0 read the file; everyone else receives the state and the arrays (a sharded table:
  // every rank read its own rows and the replicated blocks).
  const bool root = comm_.is_root();
  std::string encoded = root ? checkpoint::encode_state(state) : std::string();
  comm_.broadcast(encoded, 0);
  if (!root) state = checkpoint::decode_state(encoded);
  if (!network_.table_sharded()) {
    // In place, sliced inside collective; a block's arrays as optim::block_arrays lists them.
    for (auto& b : network_.blocks())
      for (const optim::BlockArray& a : optim::block_arrays(b)) comm_.broadcast_bytes(a.data, a.bytes(), 0);
    for (auto& t : tables_.blocks()) comm_.broadcast_bytes(t.w.data(), t.w.size() * sizeof(float), 0);
  }
  network_.set_rebuild_schedule(state.next_rebuild, state.rebuild_interval);
  tables_.restore_tables(network_);
}

namespace {

// The data must be the data the cursors point into.
void check_same_inputs(const std::vector<data::InputFile>& files, const checkpoint::TrainState& state,
                       const std::string& path) {
  if (files.size() != state.inputs.size())
    throw std::runtime_error("checkpoint '" + path + "' was written for " + std::to_string(state.inputs.size()) +
                             " input file(s), data.train now expands to " + std::to_string(files.size()));
  for (size_t i = 0; i < files.size(); ++i) {
    if (files[i].path != state.inputs[i] || files[i].size != state.input_sizes[i])
      throw std::runtime_error("input '" + files[i].path + "' (" + std::to_string(files[i].size) +
                               " bytes) is not the input the checkpoint read: '" + state.inputs[i] + "' (" +
                               std::to_string(state.input_sizes[i]) + " bytes)");
  }
}

}  // namespace

void Checkpointing::restore_position(const checkpoint::TrainState& state, data::CriteoReader& reader,
                                     LoopState& loop) const {
  const int P = comm_.size(), rank = comm_.rank();
  const bool same_ranks = state.nranks == static_cast<uint64_t>(P);
  std::vector<data::PieceRemainder> all, mine;
  for (const auto& r : state.remainders) {
    all.push_back(piece_remainder(r));
    if (same_ranks && r.rank == static_cast<uint64_t>(rank)) mine.push_back(all.back());
  }
  if (!same_ranks) mine = data::replan_remainders(all, reader.files(), rank, P);
  reader.assign_remaining(mine);

  loop.step = state.step;
  loop.samples = state.samples;
  loop.epoch = static_cast<int>(state.epoch);
  loop.elapsed_seconds = state.elapsed_seconds;
  loop.window = {};
  if (same_ranks) {
    loop.window.loss_sum = state.window_loss_sum[static_cast<size_t>(rank)];
    loop.window.samples = state.window_samples[static_cast<size_t>(rank)];
  } else if (comm_.is_root()) {  // the metrics line only needs the sums over ranks
    for (size_t r = 0; r < state.nranks; ++r) {
      loop.window.loss_sum += state.window_loss_sum[r];
      loop.window.samples += state.window_samples[r];
    }
  }
}

std::optional<checkpoint::TrainState> Checkpointing::resume(data::CriteoReader& reader, LoopState& loop) {
  if (config_.checkpoint.resume == cli::Resume::Never) {
    set_aside_old_checkpoints();
    return std::nullopt;
  }
  const auto t0 = Clock::now();
  checkpoint::TrainState state;
  std::string status;  // "" = nothing to resume, "ok <path>", "error <message>"
  if (network_.table_sharded())
    status = load_sharded(state);
  else if (comm_.is_root())
    status = load_replicated(state);
  comm_.broadcast(status, 0);
  if (status.empty()) return std::nullopt;
  if (status.rfind("error ", 0) == 0) throw std::runtime_error(status.substr(6));
  const std::string path = status.substr(3);

  const double read_seconds = since(t0);
  share_loaded_state(state);
  check_same_inputs(reader.files(), state, path);
  restore_position(state, reader, loop);
  last_saved_ = state.step;
  last_time_ = Clock::now();
  if (comm_.is_root()) {
    const int P = comm_.size();
    std::cerr << "resumed from " << path << " at step " << state.step << " (epoch " << state.epoch << ", "
              << state.samples << " samples) in " << since(t0) << " s (read " << read_seconds << " s";
    if (network_.table_sharded())
      std::cerr << ", every rank reading its own rows";
    else if (P > 1)
      std::cerr << ", broadcast to " << P - 1 << " rank(s) " << since(t0) - read_seconds << " s";
    std::cerr << ")";
    if (state.nranks != static_cast<uint64_t>(P))
      std::cerr << "; the epoch's unread data re-split from " << state.nranks << " to " << P << " ranks";
    std::cerr << std::endl;
  }
  return state;
}

// Sharded input table: every rank reads its own rows from the newest usable checkpoint.
// Rank 0 picks the candidates (format, completeness, config); a damaged array is seen by
// every rank at once (its checksum is summed over ranks), so all move on together.
std::string Checkpointing::load_sharded(checkpoint::TrainState& state) {
  const bool root = comm_.is_root();
  std::string candidates;  // newline-separated paths, newest first; "error ..." on a config mismatch
  if (root) {
    if (const size_t n = checkpoint::remove_stale_temporaries(dir_))
      std::cerr << "note: removed " << n << " unfinished checkpoint file(s) of a killed run in " << dir_ << "\n";
    try {
      for (const auto& c : checkpoint::list_checkpoints(dir_)) {
        try {
          check_config(checkpoint::read_checkpoint_state(c.path).config_ini, cli::to_ini(config_), c.path);
          candidates += c.path + "\n";
        } catch (const checkpoint::CheckpointError& e) {
          std::cerr << "warning: " << e.what() << "\nwarning: moved it to " << checkpoint::quarantine_checkpoint(c.path)
                    << "; trying the previous checkpoint\n";
        }
      }
    } catch (const std::exception& e) {
      candidates = std::string("error ") + e.what();
    }
  }
  comm_.broadcast(candidates, 0);
  if (candidates.rfind("error ", 0) == 0) return candidates;
  std::istringstream in(candidates);
  std::string last_error;
  size_t tried = 0;
  for (std::string path; std::getline(in, path); ++tried) {
    try {
      state = checkpoint::load_checkpoint(path, network_, tables_, &comm_);
      return "ok " + path;
    } catch (const checkpoint::CheckpointError& e) {
      last_error = e.what();
      if (root)
        std::cerr << "warning: " << e.what() << "\nwarning: moved it to " << checkpoint::quarantine_checkpoint(path)
                  << "; trying the previous checkpoint\n";
    }
  }
  if (tried == 0) return "";
  return "error none of the " + std::to_string(tried) + " checkpoint(s) in " + dir_ +
         " is usable (last problem: " + last_error + ")";
}

Checkpointing::Decision Checkpointing::poll(uint64_t step) {
  // Rank 0's clock decides the time-based checkpoints, any rank's signal a stop; one
  // max-allreduce gives every rank the same answer.
  double flags[2] = {static_cast<double>(g_stop_signal), 0.0};
  const double minutes = config_.checkpoint.every_minutes;
  if (comm_.is_root() && minutes > 0 && since(last_time_) >= minutes * 60.0) flags[1] = 1.0;
  comm_.allreduce_max(flags, 2);
  Decision d;
  d.signal = static_cast<int>(flags[0]);
  d.stop = d.signal != 0;
  const int64_t every = config_.checkpoint.every_steps;
  d.save = d.stop || flags[1] > 0 || (every > 0 && step % static_cast<uint64_t>(every) == 0);
  if (d.stop && comm_.is_root())
    std::cerr << signal_name(d.signal) << " received: writing a checkpoint after step " << step
              << ", then exiting with status " << kExitCheckpointedStop << std::endl;
  // mpirun answers SIGTERM by killing the ranks (SIGKILL after odls_base_sigkill_timeout,
  // 1 s by default) and exits 1: this checkpoint may be cut off. SIGUSR1 is forwarded as is.
  if (d.stop && d.signal == SIGTERM && comm_.uses_mpi() && comm_.is_root())
    std::cerr << "note: under mpirun, SIGTERM kills the ranks about 1 s later and mpirun exits 1, so this "
                 "checkpoint may not complete; stop a job with SIGUSR1 to mpirun (Slurm: --signal=B:USR1@600, "
                 "see slurm/README.md)"
              << std::endl;
  return d;
}

checkpoint::TrainState Checkpointing::state_of(const LoopState& loop, const data::CriteoReader& reader,
                                               const std::vector<uint64_t>& cursors,
                                               const std::vector<uint64_t>& windows, uint64_t metrics_bytes) const {
  checkpoint::TrainState s;
  s.step = loop.step;
  s.samples = loop.samples;
  s.epoch = static_cast<uint64_t>(loop.epoch);
  s.nranks = static_cast<uint64_t>(comm_.size());
  s.next_rebuild = network_.next_rebuild();
  s.rebuild_interval = network_.rebuild_interval();
  s.elapsed_seconds = loop.elapsed_seconds;
  s.metrics_bytes = metrics_bytes;
  s.config_ini = cli::to_ini(config_);
  for (const auto& f : reader.files()) {
    s.inputs.push_back(f.path);
    s.input_sizes.push_back(f.size);
  }
  for (size_t i = 0; i + 8 <= cursors.size(); i += 8)
    s.remainders.push_back({cursors[i], cursors[i + 1], cursors[i + 2], cursors[i + 3], cursors[i + 4], cursors[i + 5],
                            cursors[i + 6], cursors[i + 7]});
  for (size_t r = 0; r + 2 <= windows.size(); r += 2) {
    s.window_loss_sum.push_back(double_of(windows[r]));
    s.window_samples.push_back(windows[r + 1]);
  }
  return s;
}

void Checkpointing::report_saved(const std::string& path, uint64_t step, Clock::time_point t0) const {
  const double secs = since(t0);
  std::error_code ec;
  const double mb = static_cast<double>(fs::file_size(path, ec)) / 1e6;
  std::ostringstream msg;
  msg << "checkpoint step " << step << " -> " << path << " (" << mb << " MB in " << secs << " s";
  if (secs > 0) msg << ", " << mb / secs << " MB/s";
  msg << ")";
  const auto deleted = checkpoint::rotate_checkpoints(dir_, config_.checkpoint.keep, step);
  if (!deleted.empty()) msg << "; removed " << deleted.size() << " older";
  std::cerr << msg.str() << std::endl;
}

void Checkpointing::save(const LoopState& loop, const data::CriteoReader& reader,
                         const std::vector<data::PieceRemainder>& cursor, uint64_t metrics_bytes) {
  write(loop, reader, cursor, metrics_bytes);
  // The next timed checkpoint counts from the end of this one: a write that takes longer than
  // checkpoint.every_minutes (a large model, a slow file system, a busy node) must still leave
  // that much training before the next, not turn every step into a checkpoint.
  last_time_ = Clock::now();
}

void Checkpointing::write(const LoopState& loop, const data::CriteoReader& reader,
                          const std::vector<data::PieceRemainder>& cursor, uint64_t metrics_bytes) {
  const auto t0 = Clock::now();
  // Every rank's data cursor and loss window, gathered: rank 0 (or, sharded, every rank)
  // writes them all.
  const uint64_t rank = static_cast<uint64_t>(comm_.rank());
  std::vector<uint64_t> mine;
  for (const auto& r : cursor)
    mine.insert(mine.end(), {rank, r.piece.file, r.piece.begin, r.piece.end, r.piece.stride, r.piece.phase, r.offset,
                             r.line_index});
  const std::vector<uint64_t> cursors = comm_.allgatherv(mine);
  const std::vector<uint64_t> windows =
      comm_.allgatherv(std::vector<uint64_t>{bits_of(loop.window.loss_sum), loop.window.samples});
  last_saved_ = loop.step;
  const bool sharded = network_.table_sharded();
  if (!comm_.is_root() && !sharded) return;

  checkpoint::TrainState s = state_of(loop, reader, cursors, windows, metrics_bytes);
  const std::string path = checkpoint::checkpoint_path(dir_, loop.step);
  if (sharded) {  // every rank writes its rows of the one file; they must agree on the rest
    std::string encoded = comm_.is_root() ? checkpoint::encode_state(s) : std::string();
    comm_.broadcast(encoded, 0);
    s = checkpoint::decode_state(encoded);
    if (comm_.is_root()) fs::create_directories(dir_);
    comm_.barrier();
    checkpoint::save_checkpoint(path, network_, tables_, s, &comm_);
    if (!comm_.is_root()) return;
  } else {
    fs::create_directories(dir_);
    checkpoint::save_checkpoint(path, network_, tables_, s);
  }
  report_saved(path, loop.step, t0);
}

}  // namespace sparsetrain::train
