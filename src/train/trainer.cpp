#include "sparsetrain/train/trainer.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "sparsetrain/checkpoint/checkpoint_dir.h"
#include "sparsetrain/checkpoint/model_file.h"
#include "sparsetrain/collective/replica_check.h"
#include "sparsetrain/train/checkpointing.h"
#include "sparsetrain/train/lr_schedule.h"
#include "sparsetrain/train/metrics.h"
#include "sparsetrain/train/progress.h"
#include "sparsetrain/train/scoring.h"
#include "sparsetrain/train/setup.h"
#include "sparsetrain/train/step_engine.h"
#include "sparsetrain/util/commit_file.h"
#include "sparsetrain/util/json_number.h"

namespace sparsetrain::train {

using util::json_number;
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// User + system CPU seconds of this process (all threads).
double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// Seconds in the exchanges: the replicated blocks' (wall), and the sharded table's rounds.
double comm_seconds(const StepEngine& engine) {
  const auto* t = engine.table();
  return engine.exchange().stats().seconds +
         (t ? t->stats().wire_s + t->stats().pack_s + t->stats().merge_s + t->stats().fetch_s : 0.0);
}

// The reader's counts summed over ranks (rank 0's alone undercount a job), and each rank's.
struct DataCounts {
  data::ReaderStats total;
  std::vector<data::ReaderStats> per_rank;
};

DataCounts gather_data_counts(const data::CriteoReader& reader, collective::Comm& comm) {
  const auto mine = reader.stats().counts();
  const std::vector<uint64_t> all = comm.allgather(mine.data(), mine.size());
  DataCounts d;
  for (size_t r = 0; r < static_cast<size_t>(comm.size()); ++r) {
    d.per_rank.push_back(data::ReaderStats::from_counts(all.data() + r * mine.size()));
    d.total += d.per_rank.back();
  }
  return d;
}

// {"data":{"from_step":..,"rows":..,"skipped":..,"bytes":..,"crlf_rows":..,"per_rank":[{..}, ..]}}
// The counts are what this process read: after a resume, from the checkpoint's step on.
std::string data_counts_json(const DataCounts& d, uint64_t from_step) {
  auto fields = [](const data::ReaderStats& s) {
    return "\"rows\":" + std::to_string(s.rows) + ",\"skipped\":" + std::to_string(s.skipped) +
           ",\"bytes\":" + std::to_string(s.bytes) + ",\"crlf_rows\":" + std::to_string(s.crlf_rows);
  };
  std::string out = "{\"data\":{\"from_step\":" + std::to_string(from_step) + "," + fields(d.total) + ",\"per_rank\":[";
  for (size_t r = 0; r < d.per_rank.size(); ++r) out += (r ? ",{" : "{") + fields(d.per_rank[r]) + "}";
  return out + "]}}";
}

// The run directory's config.ini, whole or not at all (a full disk must not leave half of it).
void write_config_ini(const cli::Config& cfg) {
  const std::string path = (std::filesystem::path(cfg.train.run_dir) / "config.ini").string(), tmp = path + ".tmp";
  std::ofstream out(tmp);
  out << cli::to_ini(cfg);
  out.close();
  if (!out) throw std::runtime_error("cannot write " + tmp);
  util::commit_file(tmp, path);
}

}  // namespace

EvalResult merge_eval(EvalAccumulator& acc, collective::Comm& comm) {
  EvalResult r;
  r.rows = comm.sum(acc.rows());
  r.logloss = comm.sum(acc.logloss_sum()) / static_cast<double>(std::max<uint64_t>(r.rows, 1));
  const uint64_t inexact_ranks = comm.sum(uint64_t{acc.exact() ? 0u : 1u});
  r.exact_auc = inexact_ranks == 0 && r.rows <= kExactAucRows;
  if (r.exact_auc) {
    r.auc = exact_auc(comm.allgatherv(acc.scores()), comm.allgatherv(acc.labels()));
    return r;
  }
  comm.allreduce_sum(acc.histogram().positives().data(), AucHistogram::kBins);
  comm.allreduce_sum(acc.histogram().negatives().data(), AucHistogram::kBins);
  r.auc = acc.histogram().auc();
  if (comm.is_root())
    std::cerr << "note: the AUC of these " << r.rows << " rows comes from 2^20-bin score histograms, not every score "
              << "(exact up to " << kExactAucRows << " rows in all and " << EvalAccumulator::kKeptRows
              << " per rank); \"auc_exact\":false\n";
  return r;
}

EvalResult evaluate(model::Network& network, const cli::Config& config, const std::string& inputs,
                    collective::Comm& comm) {
  data::CriteoReader reader(reader_options(config, inputs, comm.rank(), comm.size(), data::LabelMode::Required));
  EvalAccumulator acc;
  score_batches(
      network, comm, [&](data::Batch& batch) { return reader.next_batch(batch, 4096); },
      [&](const data::Batch& batch, const float* probs) {
        for (size_t i = 0; i < batch.rows; ++i) acc.add(probs[i], batch.labels[i]);
      });
  return merge_eval(acc, comm);
}

struct Trainer::Impl {
  cli::Config config;
  collective::Comm& comm;
  std::ofstream metrics;
  explicit Impl(const cli::Config& c, collective::Comm& m) : config(c), comm(m) {}
};

namespace {

// With checkpoint.resume = auto and checkpoints in the run directory, the run either
// resumes (every parameter is loaded and broadcast) or stops with an error; it never
// trains from the initial weights, so drawing them can be skipped. Rank 0 decides.
model::NetworkSpec spec_for_run(const cli::Config& config, collective::Comm& comm) {
  model::NetworkSpec spec = network_spec(config, comm.rank(), comm.size());
  uint64_t resuming = 0;
  if (comm.is_root() && config.checkpoint.resume == cli::Resume::Auto)
    resuming = checkpoint::list_checkpoints(checkpoint::checkpoint_dir(config.train.run_dir)).empty() ? 0 : 1;
  spec.initialize = comm.sum(resuming) == 0;
  return spec;
}

}  // namespace

Trainer::Trainer(const cli::Config& config, collective::Comm& comm)
    : impl_(std::make_unique<Impl>(config, comm)),
      network_(std::make_unique<model::Network>(spec_for_run(config, comm))) {}

Trainer::~Trainer() = default;

namespace {

// One call of Trainer::run: the loop's state and its stages, in the order run() calls them.
// Every stage is collective (every rank calls it) unless it says otherwise.
class TrainingRun {
 public:
  TrainingRun(const cli::Config& cfg, collective::Comm& comm, model::Network& net, std::ofstream& metrics)
      : cfg_(cfg),
        comm_(comm),
        net_(net),
        metrics_(metrics),
        root_(comm.is_root()),
        run_dir_(cfg.train.run_dir),
        metrics_path_(run_dir_ / "metrics.jsonl"),
        reader_(reader_options(cfg, cfg.data.train, comm.rank(), comm.size(), data::LabelMode::Required)),
        engine_(comm, net, run_optimizer_options(cfg, reader_.files(), comm, schedule_line_), exchange_mode(cfg)),
        checkpoints_(cfg, comm, net) {
    const uint64_t G = static_cast<uint64_t>(cfg.train.batch_size), P = static_cast<uint64_t>(comm.size());
    local_batch_ = static_cast<size_t>(G / P + (static_cast<uint64_t>(comm.rank()) < G % P ? 1 : 0));
    summary_.parameters = net.num_parameters();
  }

  // Checkpoints: a resume (checkpoint.resume = auto) restores parameters, optimizer state,
  // LSH tables, data cursors and the counters below; metrics.jsonl is cut back to the
  // checkpoint so no step appears twice.
  void resume_or_start() {
    const auto restored = checkpoints_.resume(reader_, resumed_);
    if (root_) {
      // Only now: a resume refused above (another config, changed input) must leave the
      // run_dir's config.ini describing the results that are there.
      write_config_ini(cfg_);
      if (restored) truncate_metrics(metrics_path_.string(), restored->metrics_bytes);
      metrics_.open(metrics_path_, restored ? std::ios::app : std::ios::trunc);
      if (!metrics_) throw std::runtime_error("cannot write " + metrics_path_.string());
    }
    if (root_) std::cerr << schedule_line_ << "\n";
    if (root_ && restored) note_schedule_change(restored->config_ini, restored->step);
    if (restored) summary_.resumed_from_step = restored->step;
    window_ = resumed_.window;
    step_ = resumed_.step;
    samples_ = window_samples_start_ = resumed_.samples;
    epoch_ = cursor_epoch_ = resumed_.epoch;
    t_start_ = Clock::now() -
               std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(resumed_.elapsed_seconds));
    t_window_ = Clock::now();
    cpu_start_ = process_cpu_seconds();
    cursor_ = reader_.remaining();
  }

  // Root: a resume whose learning rate differs from the checkpointed run's says so (a new
  // train.epochs moves the linear fall's end, so the rate jumps).
  void note_schedule_change(const std::string& saved_ini, uint64_t step) {
    cli::Config before;
    try {
      before = cli::parse_args({}, {}, saved_ini).config;
    } catch (const cli::ConfigError&) {
      return;  // written by a build with other keys; check_config listed what changed
    }
    const std::string note = schedule_change_note(before, cfg_, reader_.files(), step);
    if (!note.empty()) std::cerr << note << "\n";
  }

  // Steps until the data, train.max_steps or a stop signal ends them. The batch of the next
  // step is read one step ahead (a sharded table fetches its rows in the same rounds that
  // push this step's gradient), so a checkpoint after a step takes the data cursor and epoch
  // as they were right after reading that step's batch.
  void train_steps() {
    GlobalBatch batches[2];
    GlobalBatch *cur = &batches[0], *next = &batches[1];
    bool have = may_step(step_) && read_batch(*cur);
    if (have) engine_.start(*cur);
    while (have) {
      cursor_ = reader_.remaining();
      cursor_epoch_ = epoch_;
      ++step_;
      const bool more = may_step(step_) && read_batch(*next);
      const uint64_t rebuilds = net_.rebuild_count();
      engine_.step(step_, samples_, *cur, more ? next : nullptr, window_);
      samples_ += cur->total;
      std::swap(cur, next);
      have = more;
      if (net_.rebuild_count() != rebuilds)
        checkpoints_.after_rebuild();  // the tables' source weights, for an exact resume
      if (after_step()) break;
    }
    // The end of training is checkpointed too when checkpoints are on (a later run with more
    // epochs or steps continues from it).
    if (!summary_.stop_signal && checkpoints_.periodic() && step_ > 0 && checkpoints_.last_saved_step() != step_)
      checkpoints_.save(loop_state(), reader_, cursor_, metrics_bytes());
  }

  // The summary's figures, the data counts, and the refusal of a run that trained on nothing.
  void finish_summary() {
    summary_.seconds = since(t_start_);
    summary_.steps = step_;
    summary_.samples = samples_;
    summary_.samples_per_second = static_cast<double>(samples_) / std::max(summary_.seconds, 1e-9);
    // CPU time of this process over the loop: per-core throughput that stays meaningful
    // on a shared machine (wall time does not).
    summary_.cpu_seconds = process_cpu_seconds() - cpu_start_;
    summary_.rebuild_seconds = net_.rebuild_seconds_total();
    summary_.comm_seconds = comm_seconds(engine_);
    summary_.comm_bytes = engine_.bytes_sent();
    {  // collective on every rank: a rank whose shard ran dry has an empty window
      double sums[2] = {window_.loss_sum, static_cast<double>(window_.samples)};
      comm_.allreduce_sum(sums, 2);
      if (sums[1] > 0) last_loss_ = sums[0] / sums[1];
    }
    summary_.final_train_loss = last_loss_;
    report_data_counts();
  }

  // After the last step (not after a stop signal: the requeued job finishes the run).
  // The final evaluation uses the tables training ended with (the network co-adapted
  // with them; rebuilding from the final weights measurably lowers AUC). model.h5 stores
  // their source weights, so `sparsetrain evaluate` rebuilds exactly these tables.
  void evaluate_and_save() {
    if (!cfg_.data.test.empty()) {
      summary_.evaluated = true;
      summary_.eval = evaluate(net_, cfg_, cfg_.data.test, comm_);
      log_eval(summary_.eval);
    }
    const std::string model_path = (run_dir_ / "model.h5").string();
    // A sharded table: every rank writes its rows of the one file (parallel HDF5).
    if (engine_.sharded())
      checkpoint::save_model(model_path, net_, cli::to_ini(cfg_), &checkpoints_.tables(), &comm_);
    else if (root_)
      checkpoint::save_model(model_path, net_, cli::to_ini(cfg_), &checkpoints_.tables());
  }

  const TrainSummary& summary() const { return summary_; }

 private:
  bool may_step(uint64_t done) const {
    return cfg_.train.max_steps <= 0 || done < static_cast<uint64_t>(cfg_.train.max_steps);
  }
  bool read_batch(GlobalBatch& out) {
    return read_global_batch(reader_, comm_, local_batch_, cfg_.train.epochs, epoch_, out, summary_.read_seconds);
  }

  // What runs between steps; true when a stop signal ended the run (after its checkpoint).
  bool after_step() {
    if (cfg_.dist.verify_every > 0 && step_ % static_cast<uint64_t>(cfg_.dist.verify_every) == 0) verify_replicas();
    if (step_ % static_cast<uint64_t>(cfg_.train.log_every) == 0) log_progress();
    if (cfg_.train.eval_every > 0 && !cfg_.data.test.empty() &&
        step_ % static_cast<uint64_t>(cfg_.train.eval_every) == 0)
      log_eval(evaluate(net_, cfg_, cfg_.data.test, comm_));
    // Every rank agrees (one allreduce) on checkpointing now and on stopping after a signal.
    const Checkpointing::Decision due = checkpoints_.poll(step_);
    if (!due.save) return false;
    checkpoints_.save(loop_state(), reader_, cursor_, metrics_bytes());
    summary_.stop_signal = due.stop ? due.signal : 0;
    return due.stop;
  }

  // Bitwise: weights, Adam moments, row steps of what is replicated; the sharded table's
  // hash (over its owners) goes into metrics.jsonl, where a replicated run writes the same.
  void verify_replicas() {
    const std::vector<uint64_t> hashes = collective::verify_replicas(comm_, net_.blocks(), step_);
    if (root_)
      metrics_ << "{\"step\":" << step_ << ",\"verified\":true,\"embed_state_hash\":\"" << std::hex
               << hashes[net_.embed_block()] << std::dec << "\"}\n";
  }

  void log_progress() {
    double sums[2] = {window_.loss_sum, static_cast<double>(window_.samples)};
    comm_.allreduce_sum(sums, 2);
    last_loss_ = sums[0] / std::max(1.0, sums[1]);
    const double rate = static_cast<double>(samples_ - window_samples_start_) / std::max(since(t_window_), 1e-9);
    if (root_) {
      const Progress progress = make_progress(epoch_, cfg_.train.epochs, reader_.epoch_fraction(), step_,
                                              cfg_.train.max_steps, since(t_start_));
      metrics_ << "{\"step\":" << step_ << ",\"samples\":" << samples_ << ",\"samples_per_s\":" << json_number(rate)
               << ",\"loss\":" << json_number(last_loss_) << ",\"lr\":" << json_number(engine_.optimizer().current_lr())
               << ",\"time_s\":" << json_number(since(t_start_))
               << ",\"rebuild_s\":" << json_number(net_.rebuild_seconds_total())
               << ",\"comm_bytes\":" << engine_.bytes_sent() << ",\"comm_s\":" << json_number(comm_seconds(engine_))
               << progress_json_fields(progress) << "}\n";
      metrics_.flush();
      std::cerr << "step " << step_ << " | " << progress_line(progress, rate, last_loss_) << "\n";
    }
    window_ = {};
    window_samples_start_ = samples_;
    t_window_ = Clock::now();
  }

  void log_eval(const EvalResult& e) {
    if (!root_) return;
    metrics_ << "{\"step\":" << step_ << ",\"samples\":" << samples_ << ",\"eval_rows\":" << e.rows
             << ",\"auc\":" << json_number(e.auc) << ",\"logloss\":" << json_number(e.logloss)
             << (e.exact_auc ? "" : ",\"auc_exact\":false") << "}\n";
    metrics_.flush();
    std::cerr << "eval step " << step_ << ": rows=" << e.rows << " auc=" << json_number(e.auc, 5)
              << " logloss=" << json_number(e.logloss, 5) << "\n";
  }

  // Every rank's reading, summed, on stderr and in metrics.jsonl. A run that trained on
  // nothing is a failure, not an untrained model.h5 (step 0 here means no batch was ever
  // read: a resumed run counts its steps before the checkpoint).
  void report_data_counts() {
    const DataCounts counts = gather_data_counts(reader_, comm_);
    if (root_) {
      std::cerr << "data: " << data::describe(counts.total) << (comm_.size() > 1 ? " (all ranks)" : "")
                << (resumed_.step ? " since the resume at step " + std::to_string(resumed_.step) : std::string())
                << "\n";
      metrics_ << data_counts_json(counts, resumed_.step) << "\n";
      metrics_.flush();
    }
    if (step_ == 0)
      throw data::DataError("no valid training rows in data.train '" + cfg_.data.train + "' (" +
                            data::describe(counts.total) + "): nothing was trained and no model.h5 written");
  }

  LoopState loop_state() const {
    LoopState s;
    s.step = step_;
    s.samples = samples_;
    s.epoch = std::min(cursor_epoch_, cfg_.train.epochs - 1);  // after the last epoch: its data is used up
    s.elapsed_seconds = since(t_start_);
    s.window = window_;
    return s;
  }

  uint64_t metrics_bytes() {
    if (!root_) return 0;
    metrics_.flush();
    return std::filesystem::file_size(metrics_path_);
  }

  const cli::Config& cfg_;
  collective::Comm& comm_;
  model::Network& net_;
  std::ofstream& metrics_;
  const bool root_;
  const std::filesystem::path run_dir_, metrics_path_;
  std::string schedule_line_;  // how the learning rate runs (filled while engine_ is built)
  data::CriteoReader reader_;
  StepEngine engine_;
  Checkpointing checkpoints_;
  size_t local_batch_ = 0;
  TrainSummary summary_;
  LoopState resumed_;
  model::StepStats window_;  // since the last log line
  uint64_t step_ = 0, samples_ = 0, window_samples_start_ = 0;
  int epoch_ = 0, cursor_epoch_ = 0;
  std::vector<data::PieceRemainder> cursor_;
  Clock::time_point t_start_, t_window_;
  double cpu_start_ = 0, last_loss_ = NAN;
};

}  // namespace

TrainSummary Trainer::run() {
  const cli::Config& cfg = impl_->config;
  if (impl_->comm.is_root()) {
    std::filesystem::create_directories(cfg.train.run_dir);
  }
  TrainingRun run(cfg, impl_->comm, *network_, impl_->metrics);
  run.resume_or_start();
  run.train_steps();
  run.finish_summary();
  if (!run.summary().stop_signal) run.evaluate_and_save();  // else checkpointed: the requeued job finishes
  return run.summary();
}

std::string to_json(const TrainSummary& s) {
  std::ostringstream os;
  os << "{\"steps\":" << s.steps << ",\"samples\":" << s.samples << ",\"seconds\":" << json_number(s.seconds)
     << ",\"samples_per_s\":" << json_number(s.samples_per_second) << ",\"cpu_s\":" << json_number(s.cpu_seconds)
     << ",\"samples_per_cpu_s\":" << json_number(static_cast<double>(s.samples) / std::max(s.cpu_seconds, 1e-9))
     << ",\"read_s\":" << json_number(s.read_seconds) << ",\"parameters\":" << s.parameters
     << ",\"train_loss\":" << json_number(s.final_train_loss) << ",\"rebuild_s\":" << json_number(s.rebuild_seconds)
     << ",\"comm_s\":" << json_number(s.comm_seconds) << ",\"comm_bytes\":" << s.comm_bytes;
  if (s.evaluated)
    os << ",\"test_rows\":" << s.eval.rows << ",\"auc\":" << json_number(s.eval.auc)
       << ",\"logloss\":" << json_number(s.eval.logloss) << (s.eval.exact_auc ? "" : ",\"auc_exact\":false");
  if (s.resumed_from_step) os << ",\"resumed_from_step\":" << s.resumed_from_step;
  if (s.stop_signal) os << ",\"stop_signal\":" << s.stop_signal;
  os << "}";
  return os.str();
}

}  // namespace sparsetrain::train
