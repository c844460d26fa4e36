#include "sparsetrain/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "sparsetrain/checkpoint/model_file.h"
#include "sparsetrain/dist/gradient_exchange.h"
#include "sparsetrain/optim/optimizer.h"
#include "sparsetrain/train/metrics.h"
#include "sparsetrain/train/setup.h"

namespace sparsetrain::train {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string fmt(double v, int precision = 6) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

// Sum of all parameters in double, for the cross-rank replica check.
double parameter_checksum(const model::Network& net) {
  double sum = 0;
  for (const auto& b : net.blocks()) {
    double block = 0;
    for (size_t i = 0; i < b.w.size(); ++i) block += static_cast<double>(b.w[i]) * static_cast<double>((i % 7) + 1);
    sum += block;
  }
  return sum;
}

}  // namespace

EvalResult evaluate(model::Network& network, const cli::Config& config, const std::string& inputs,
                    dist::Comm& comm) {
  data::CriteoReader reader(reader_options(config, inputs, comm.rank(), comm.size(), data::LabelMode::Required));
  data::Batch batch;
  std::vector<float> probs;
  EvalAccumulator acc;
  const uint64_t base = static_cast<uint64_t>(comm.rank()) << 40;
  uint64_t seen = 0;
  while (size_t n = reader.next_batch(batch, 4096)) {
    probs.resize(n);
    network.predict(batch, base + seen, probs.data());
    for (size_t i = 0; i < n; ++i) acc.add(probs[i], batch.labels[i]);
    seen += n;
  }
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
  dist::Comm& comm;
  std::ofstream metrics;
  explicit Impl(const cli::Config& c, dist::Comm& m) : config(c), comm(m) {}
};

Trainer::Trainer(const cli::Config& config, dist::Comm& comm)
    : impl_(std::make_unique<Impl>(config, comm)),
      network_(std::make_unique<model::Network>(network_spec(config))) {}

Trainer::~Trainer() = default;

TrainSummary Trainer::run() {
  const cli::Config& cfg = impl_->config;
  dist::Comm& comm = impl_->comm;
  const int P = comm.size(), rank = comm.rank();
  const bool root = comm.is_root();
  const std::filesystem::path run_dir(cfg.train.run_dir);
  if (root) {
    std::filesystem::create_directories(run_dir);
    std::ofstream(run_dir / "config.ini") << cli::to_ini(cfg);
    impl_->metrics.open(run_dir / "metrics.jsonl", std::ios::trunc);
    if (!impl_->metrics) throw std::runtime_error("cannot write " + (run_dir / "metrics.jsonl").string());
  }

  data::CriteoReader reader(reader_options(cfg, cfg.data.train, rank, P, data::LabelMode::Required));
  model::Network& net = *network_;
  optim::Optimizer optimizer(optimizer_options(cfg));
  dist::GradientExchange exchange(comm, dist::parse_exchange_mode(cfg.dist.exchange));

  const uint64_t G = static_cast<uint64_t>(cfg.train.batch_size);
  const size_t local_batch = static_cast<size_t>(G / P + (static_cast<uint64_t>(rank) < G % P ? 1 : 0));
  TrainSummary summary;
  summary.parameters = net.num_parameters();

  data::Batch batch;
  std::vector<model::BlockGrad> grads;
  model::StepStats window;  // since the last log line
  uint64_t step = 0, samples = 0, window_samples_start = 0;
  int epoch = 0;
  const auto t_start = Clock::now();
  auto t_window = t_start;
  double last_loss = NAN;

  auto log_eval = [&](const EvalResult& e) {
    if (!root) return;
    impl_->metrics << "{\"step\":" << step << ",\"samples\":" << samples << ",\"eval_rows\":" << e.rows
                   << ",\"auc\":" << fmt(e.auc) << ",\"logloss\":" << fmt(e.logloss) << "}\n";
    impl_->metrics.flush();
    std::cerr << "eval step " << step << ": rows=" << e.rows << " auc=" << fmt(e.auc, 5)
              << " logloss=" << fmt(e.logloss, 5) << "\n";
  };

  for (;;) {
    if (cfg.train.max_steps > 0 && step >= static_cast<uint64_t>(cfg.train.max_steps)) break;
    const size_t n = reader.next_batch(batch, local_batch);
    const uint64_t total = comm.sum(static_cast<uint64_t>(n));
    if (total == 0) {  // every rank finished its shard: next epoch, or done
      if (++epoch >= cfg.train.epochs) break;
      reader.rewind();
      continue;
    }
    ++step;
    optimizer.begin_step(step);
    net.forward_backward(batch, 1.0f / static_cast<float>(total), step, (static_cast<uint64_t>(rank) << 40),
                         grads, window);
    auto& blocks = net.blocks();
    for (size_t b = 0; b < blocks.size(); ++b) {
      if (grads[b].sparse) {
        exchange.combine(grads[b].sparse_grad, blocks[b].rows);
        optimizer.apply(blocks[b], grads[b].sparse_grad);
      } else {
        exchange.combine(grads[b].dense_grad);
        optimizer.apply(blocks[b], grads[b].dense_grad);
      }
    }
    samples += total;
    if (net.rebuild_due(step)) net.rebuild(step);

    if (cfg.dist.verify_every > 0 && step % static_cast<uint64_t>(cfg.dist.verify_every) == 0 && P > 1) {
      const double mine = parameter_checksum(net);
      const double hi = comm.max(mine), lo = -comm.max(-mine);
      if (hi != lo) {
        throw std::runtime_error("replica check failed at step " + std::to_string(step) +
                                 ": parameter checksums differ across ranks (min " + fmt(lo, 17) + ", max " +
                                 fmt(hi, 17) + ")");
      }
    }
    if (step % static_cast<uint64_t>(cfg.train.log_every) == 0) {
      double sums[2] = {window.loss_sum, static_cast<double>(window.samples)};
      comm.allreduce_sum(sums, 2);
      last_loss = sums[0] / std::max(1.0, sums[1]);
      const double dt = since(t_window);
      const double rate = static_cast<double>(samples - window_samples_start) / std::max(dt, 1e-9);
      if (root) {
        impl_->metrics << "{\"step\":" << step << ",\"samples\":" << samples << ",\"samples_per_s\":" << fmt(rate)
                       << ",\"loss\":" << fmt(last_loss) << ",\"lr\":" << fmt(optimizer.current_lr())
                       << ",\"time_s\":" << fmt(since(t_start)) << ",\"rebuild_s\":"
                       << fmt(net.rebuild_seconds_total()) << ",\"comm_bytes\":" << exchange.stats().bytes_sent
                       << ",\"comm_s\":" << fmt(exchange.stats().seconds) << "}\n";
        impl_->metrics.flush();
        std::cerr << "step " << step << " | " << samples << " samples | " << fmt(rate, 4)
                  << " samples/s | loss " << fmt(last_loss, 5) << "\n";
      }
      window = {};
      window_samples_start = samples;
      t_window = Clock::now();
    }
    if (cfg.train.eval_every > 0 && !cfg.data.test.empty() &&
        step % static_cast<uint64_t>(cfg.train.eval_every) == 0) {
      log_eval(evaluate(net, cfg, cfg.data.test, comm));
    }
  }
  summary.seconds = since(t_start);
  summary.steps = step;
  summary.samples = samples;
  summary.samples_per_second = static_cast<double>(samples) / std::max(summary.seconds, 1e-9);
  summary.rebuild_seconds = net.rebuild_seconds_total();
  summary.comm_seconds = exchange.stats().seconds;
  summary.comm_bytes = exchange.stats().bytes_sent;
  if (window.samples > 0) {
    double sums[2] = {window.loss_sum, static_cast<double>(window.samples)};
    comm.allreduce_sum(sums, 2);
    last_loss = sums[0] / std::max(1.0, sums[1]);
  }
  summary.final_train_loss = last_loss;
  if (root) std::cerr << "data: " << reader.summary() << "\n";
  // The saved model's tables are rebuilt from its weights on load; do the same here so
  // the final evaluation matches `sparsetrain evaluate` on model.h5 exactly.
  net.rebuild_tables();
  if (!cfg.data.test.empty()) {
    summary.evaluated = true;
    summary.eval = evaluate(net, cfg, cfg.data.test, comm);
    log_eval(summary.eval);
  }
  if (root) checkpoint::save_model((run_dir / "model.h5").string(), net, cli::to_ini(cfg));
  return summary;
}

std::string to_json(const TrainSummary& s) {
  std::ostringstream os;
  os << "{\"steps\":" << s.steps << ",\"samples\":" << s.samples << ",\"seconds\":" << fmt(s.seconds)
     << ",\"samples_per_s\":" << fmt(s.samples_per_second) << ",\"parameters\":" << s.parameters
     << ",\"train_loss\":" << fmt(s.final_train_loss) << ",\"rebuild_s\":" << fmt(s.rebuild_seconds)
     << ",\"comm_s\":" << fmt(s.comm_seconds) << ",\"comm_bytes\":" << s.comm_bytes;
  if (s.evaluated)
    os << ",\"test_rows\":" << s.eval.rows << ",\"auc\":" << fmt(s.eval.auc) << ",\"logloss\":" << fmt(s.eval.logloss);
  os << "}";
  return os.str();
}

}  // namespace sparsetrain::train
