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
#include "sparsetrain/train/metrics.h"
#include "sparsetrain/train/progress.h"
#include "sparsetrain/train/scoring.h"
#include "sparsetrain/train/setup.h"
#include "sparsetrain/train/step_engine.h"

namespace sparsetrain::train {
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

std::string fmt(double v, int precision = 6) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
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

}  // namespace

EvalResult evaluate(model::Network& network, const cli::Config& config, const std::string& inputs,
                    collective::Comm& comm) {
  data::CriteoReader reader(reader_options(config, inputs, comm.rank(), comm.size(), data::LabelMode::Required));
  EvalAccumulator acc;
  score_batches(
      network, comm, [&](data::Batch& batch) { return reader.next_batch(batch, 4096); },
      [&](const data::Batch& batch, const float* probs) {
        for (size_t i = 0; i < batch.rows; ++i) acc.add(probs[i], batch.labels[i]);
      });
  EvalResult r;
  r.rows = comm.sum(acc.rows());
  r.logloss = comm.sum(acc.logloss_sum()) / static_cast<double>(std::max<uint64_t>(r.rows, 1));
  uint64_t inexact = acc.exact() ? 0 : 1;
  inexact = comm.sum(inexact);
  if (inexact == 0 && r.rows <= (1u << 24)) {
    r.exact_auc = true;
    r.auc = exact_auc(comm.allgatherv(acc.scores()), comm.allgatherv(acc.labels()));
  } else {
    r.exact_auc = false;
    comm.allreduce_sum(acc.histogram().positives().data(), AucHistogram::kBins);
    comm.allreduce_sum(acc.histogram().negatives().data(), AucHistogram::kBins);
    r.auc = acc.histogram().auc();
  }
  return r;
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
  if (comm.is_root() && config.checkpoint.resume == "auto")
    resuming = checkpoint::list_checkpoints(checkpoint::checkpoint_dir(config.train.run_dir)).empty() ? 0 : 1;
  spec.initialize = comm.sum(resuming) == 0;
  return spec;
}

}  // namespace

Trainer::Trainer(const cli::Config& config, collective::Comm& comm)
    : impl_(std::make_unique<Impl>(config, comm)),
      network_(std::make_unique<model::Network>(spec_for_run(config, comm))) {}

Trainer::~Trainer() = default;

TrainSummary Trainer::run() {
  const cli::Config& cfg = impl_->config;
  collective::Comm& comm = impl_->comm;
  const int P = comm.size(), rank = comm.rank();
  const bool root = comm.is_root();
  const std::filesystem::path run_dir(cfg.train.run_dir);
  if (root) {
    std::filesystem::create_directories(run_dir);
    std::ofstream(run_dir / "config.ini") << cli::to_ini(cfg);
  }

  data::CriteoReader reader(reader_options(cfg, cfg.data.train, rank, P, data::LabelMode::Required));
  model::Network& net = *network_;
  StepEngine engine(comm, net, optimizer_options(cfg), collective::parse_exchange_mode(cfg.dist.exchange));

  const uint64_t G = static_cast<uint64_t>(cfg.train.batch_size);
  const size_t local_batch = static_cast<size_t>(G / P + (static_cast<uint64_t>(rank) < G % P ? 1 : 0));
  TrainSummary summary;
  summary.parameters = net.num_parameters();

  // Checkpoints: a resume (checkpoint.resume = auto) restores parameters, optimizer state,
  // LSH tables, data cursors and the counters below; metrics.jsonl is cut back to the
  // checkpoint so no step appears twice.
  Checkpointing checkpoints(cfg, comm, net);
  LoopState resumed;
  const auto restored = checkpoints.resume(reader, resumed);
  const std::filesystem::path metrics_path = run_dir / "metrics.jsonl";
  if (root) {
    if (restored) truncate_metrics(metrics_path.string(), restored->metrics_bytes);
    impl_->metrics.open(metrics_path, restored ? std::ios::app : std::ios::trunc);
    if (!impl_->metrics) throw std::runtime_error("cannot write " + metrics_path.string());
  }
  if (restored) summary.resumed_from_step = restored->step;
  model::StepStats window = resumed.window;  // since the last log line
  uint64_t step = resumed.step, samples = resumed.samples, window_samples_start = resumed.samples;
  int epoch = resumed.epoch;
  const auto t_start = Clock::now() - std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(resumed.elapsed_seconds));
  auto t_window = Clock::now();
  const double cpu_start = process_cpu_seconds();
  double last_loss = NAN;
  // The batch of the next step is read one step ahead (a sharded table fetches its rows
  // in the same rounds that push this step's gradient), so a checkpoint after a step
  // takes the data cursor and epoch as they were right after reading that step's batch.
  std::vector<data::PieceRemainder> cursor = reader.remaining();
  int cursor_epoch = epoch;
  auto loop_state = [&] {
    LoopState s;
    s.step = step;
    s.samples = samples;
    s.epoch = std::min(cursor_epoch, cfg.train.epochs - 1);  // after the last epoch: its data is used up
    s.elapsed_seconds = since(t_start);
    s.window = window;
    return s;
  };
  auto metrics_bytes = [&]() -> uint64_t {
    if (!root) return 0;
    impl_->metrics.flush();
    return std::filesystem::file_size(metrics_path);
  };

  auto log_eval = [&](const EvalResult& e) {
    if (!root) return;
    impl_->metrics << "{\"step\":" << step << ",\"samples\":" << samples << ",\"eval_rows\":" << e.rows
                   << ",\"auc\":" << fmt(e.auc) << ",\"logloss\":" << fmt(e.logloss) << "}\n";
    impl_->metrics.flush();
    std::cerr << "eval step " << step << ": rows=" << e.rows << " auc=" << fmt(e.auc, 5)
              << " logloss=" << fmt(e.logloss, 5) << "\n";
  };

  const auto may_step = [&](uint64_t done) {
    return cfg.train.max_steps <= 0 || done < static_cast<uint64_t>(cfg.train.max_steps);
  };
  GlobalBatch batches[2];
  GlobalBatch *cur = &batches[0], *next = &batches[1];
  bool have = may_step(step) &&
              read_global_batch(reader, comm, local_batch, cfg.train.epochs, epoch, *cur, summary.read_seconds);
  if (have) engine.start(*cur);
  while (have) {
    cursor = reader.remaining();
    cursor_epoch = epoch;
    ++step;
    const bool more = may_step(step) && read_global_batch(reader, comm, local_batch, cfg.train.epochs, epoch, *next,
                                                          summary.read_seconds);
    const uint64_t rebuilds = net.rebuild_count();
    engine.step(step, samples, *cur, more ? next : nullptr, window);
    samples += cur->total;
    std::swap(cur, next);
    have = more;
    if (net.rebuild_count() != rebuilds) checkpoints.after_rebuild();  // the tables' source weights, for an exact resume

    if (cfg.dist.verify_every > 0 && step % static_cast<uint64_t>(cfg.dist.verify_every) == 0) {
      // Bitwise: weights, Adam moments, row steps of what is replicated; the sharded table's
      // hash (over its owners) goes into metrics.jsonl, where a replicated run writes the same.
      const std::vector<uint64_t> hashes = collective::verify_replicas(comm, net.blocks(), step);
      const size_t e = net.embed_block();
      if (root)
        impl_->metrics << "{\"step\":" << step << ",\"verified\":true,\"embed_state_hash\":\"" << std::hex
                       << hashes[e] << std::dec << "\"}\n";
    }
    if (step % static_cast<uint64_t>(cfg.train.log_every) == 0) {
      double sums[2] = {window.loss_sum, static_cast<double>(window.samples)};
      comm.allreduce_sum(sums, 2);
      last_loss = sums[0] / std::max(1.0, sums[1]);
      const double dt = since(t_window);
      const double rate = static_cast<double>(samples - window_samples_start) / std::max(dt, 1e-9);
      if (root) {
        const Progress progress = make_progress(epoch, cfg.train.epochs, reader.epoch_fraction(), step,
                                                cfg.train.max_steps, since(t_start));
        impl_->metrics << "{\"step\":" << step << ",\"samples\":" << samples << ",\"samples_per_s\":" << fmt(rate)
                       << ",\"loss\":" << fmt(last_loss) << ",\"lr\":" << fmt(engine.optimizer().current_lr())
                       << ",\"time_s\":" << fmt(since(t_start)) << ",\"rebuild_s\":"
                       << fmt(net.rebuild_seconds_total()) << ",\"comm_bytes\":" << engine.bytes_sent()
                       << ",\"comm_s\":" << fmt(comm_seconds(engine)) << progress_json_fields(progress) << "}\n";
        impl_->metrics.flush();
        std::cerr << "step " << step << " | " << progress_line(progress, rate, last_loss) << "\n";
      }
      window = {};
      window_samples_start = samples;
      t_window = Clock::now();
    }
    if (cfg.train.eval_every > 0 && !cfg.data.test.empty() &&
        step % static_cast<uint64_t>(cfg.train.eval_every) == 0) {
      log_eval(evaluate(net, cfg, cfg.data.test, comm));
    }
    // Every rank agrees (one allreduce) on checkpointing now and on stopping after a signal.
    if (const Checkpointing::Decision due = checkpoints.poll(step); due.save) {
      checkpoints.save(loop_state(), reader, cursor, metrics_bytes());
      if (due.stop) {
        summary.stop_signal = due.signal;
        break;
      }
    }
  }
  // The end of training is checkpointed too when checkpoints are on (a later run with more
  // epochs or steps continues from it).
  if (!summary.stop_signal && checkpoints.periodic() && step > 0 && checkpoints.last_saved_step() != step)
    checkpoints.save(loop_state(), reader, cursor, metrics_bytes());
  summary.seconds = since(t_start);
  summary.steps = step;
  summary.samples = samples;
  summary.samples_per_second = static_cast<double>(samples) / std::max(summary.seconds, 1e-9);
  // CPU time of this process over the loop: per-core throughput that stays meaningful
  // on a shared machine (wall time does not).
  summary.cpu_seconds = process_cpu_seconds() - cpu_start;
  summary.rebuild_seconds = net.rebuild_seconds_total();
  summary.comm_seconds = comm_seconds(engine);
  summary.comm_bytes = engine.bytes_sent();
  {  // collective on every rank: a rank whose shard ran dry has an empty window
    double sums[2] = {window.loss_sum, static_cast<double>(window.samples)};
    comm.allreduce_sum(sums, 2);
    if (sums[1] > 0) last_loss = sums[0] / sums[1];
  }
  summary.final_train_loss = last_loss;
  const DataCounts data_counts = gather_data_counts(reader, comm);
  if (root) {
    std::cerr << "data: " << data::describe(data_counts.total) << (P > 1 ? " (all ranks)" : "")
              << (resumed.step ? " since the resume at step " + std::to_string(resumed.step) : std::string()) << "\n";
    impl_->metrics << data_counts_json(data_counts, resumed.step) << "\n";
    impl_->metrics.flush();
  }
  // A run that trained on nothing is a failure, not an untrained model.h5 (step 0 here
  // means no batch was ever read: a resumed run counts its steps before the checkpoint).
  if (step == 0)
    throw data::DataError("no valid training rows in data.train '" + cfg.data.train + "' (" +
                          data::describe(data_counts.total) + "): nothing was trained and no model.h5 written");
  if (summary.stop_signal) return summary;  // checkpointed; the requeued job finishes the run
  // The final evaluation uses the tables training ended with (the network co-adapted
  // with them; rebuilding from the final weights measurably lowers AUC). model.h5 stores
  // their source weights, so `sparsetrain evaluate` rebuilds exactly these tables.
  if (!cfg.data.test.empty()) {
    summary.evaluated = true;
    summary.eval = evaluate(net, cfg, cfg.data.test, comm);
    log_eval(summary.eval);
  }
  // A sharded table: every rank writes its rows of the one file (parallel HDF5).
  if (engine.sharded())
    checkpoint::save_model((run_dir / "model.h5").string(), net, cli::to_ini(cfg), &checkpoints.tables(), &comm);
  else if (root)
    checkpoint::save_model((run_dir / "model.h5").string(), net, cli::to_ini(cfg), &checkpoints.tables());
  return summary;
}

std::string to_json(const TrainSummary& s) {
  std::ostringstream os;
  os << "{\"steps\":" << s.steps << ",\"samples\":" << s.samples << ",\"seconds\":" << fmt(s.seconds)
     << ",\"samples_per_s\":" << fmt(s.samples_per_second) << ",\"cpu_s\":" << fmt(s.cpu_seconds)
     << ",\"samples_per_cpu_s\":" << fmt(static_cast<double>(s.samples) / std::max(s.cpu_seconds, 1e-9))
     << ",\"read_s\":" << fmt(s.read_seconds) << ",\"parameters\":" << s.parameters
     << ",\"train_loss\":" << fmt(s.final_train_loss) << ",\"rebuild_s\":" << fmt(s.rebuild_seconds)
     << ",\"comm_s\":" << fmt(s.comm_seconds) << ",\"comm_bytes\":" << s.comm_bytes;
  if (s.evaluated)
    os << ",\"test_rows\":" << s.eval.rows << ",\"auc\":" << fmt(s.eval.auc) << ",\"logloss\":" << fmt(s.eval.logloss);
  if (s.resumed_from_step) os << ",\"resumed_from_step\":" << s.resumed_from_step;
  if (s.stop_signal) os << ",\"stop_signal\":" << s.stop_signal;
  os << "}";
  return os.str();
}

}  // namespace sparsetrain::train
