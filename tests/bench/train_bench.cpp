// Where the training time goes, and AUC against pure training time.
//
//   bench_train_bench --config F | --section.key V ... [--curve OUT.jsonl] [--evals N]
//                     [--forward-probe 1]
//
// Takes the same configuration keys as `sparsetrain train` and runs the same
// single-process training loop as Trainer::run (src/train/trainer.cpp): read a batch,
// forward_backward with loss scale 1/batch, optimizer.apply per block, LSH rebuild
// on the schedule. With the same config and seed it produces the same model, so its
// final AUC equals `sparsetrain train`'s (scripts/bench_all.sh checks that).
// What it adds:
//   * wall time per phase: read (parse + featurize), forward+backward, optimizer
//     (also per parameter block, with the rows it updated per step), LSH rebuild, the
//     upkeep of the input layer's block sums (model.embed_sparsity < 1: block_sums_s); and
//     process CPU time of the training loop;
//   * --evals N: evaluate on data.test N times at evenly spaced steps, with the clock
//     paused, writing {"samples","train_s","cpu_s","read_s","auc","logloss"} lines to --curve
//     (read_s: the reading + parsing part of train_s so far):
//     AUC against training time without evaluation time mixed in;
//   * --forward-probe 1: before each step, also time a forward-only pass
//     (Network::predict) over the batch, outside the training clock, to split
//     forward from backward.
// Prints one JSON line on stdout. Single process (no MPI); threads from train.threads.
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "sparsetrain/cli/config.h"
#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/model/network.h"
#include "sparsetrain/optim/optimizer.h"
#include "sparsetrain/train/metrics.h"
#include "sparsetrain/train/setup.h"
#include "sparsetrain/util/json_number.h"

using namespace sparsetrain;
using util::json_number;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Eval {
  uint64_t rows = 0;
  double auc = NAN, logloss = NAN;
};

Eval evaluate(model::Network& net, const cli::Config& cfg) {
  data::CriteoReader reader(train::reader_options(cfg, cfg.data.test, 0, 1, data::LabelMode::Required));
  data::Batch batch;
  std::vector<float> probs;
  train::EvalAccumulator acc(uint64_t{1} << 26);
  while (size_t n = reader.next_batch(batch, 4096)) {
    probs.resize(n);
    net.infer(batch, probs.data());
    for (size_t i = 0; i < n; ++i) acc.add(probs[i], batch.labels[i]);
  }
  Eval e;
  e.rows = acc.rows();
  e.logloss = acc.logloss_sum() / static_cast<double>(std::max<uint64_t>(e.rows, 1));
  e.auc = acc.local_auc();
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string curve_path, evals_s = "0", probe_s = "0";
    std::vector<cli::ExtraOption> extras = {
        {"curve", "write one JSON line per evaluation here", "", false, &curve_path},
        {"evals", "evaluations on data.test at evenly spaced steps (needs train.max_steps or a known row count)", "0",
         false, &evals_s},
        {"forward-probe", "1: also time a forward-only pass per batch (outside the training clock)", "0", false,
         &probe_s},
    };
    const std::vector<std::string> args(argv + 1, argv + argc);
    for (const auto& a : args)
      if (a == "--help" || a == "-h") {
        cli::print_help(std::cout, "train_bench", extras);
        return 0;
      }
    const cli::ParsedArgs parsed = cli::parse_args(args, extras);
    const cli::Config& cfg = parsed.config;
    const int evals = std::stoi(evals_s);
    const bool probe = probe_s == "1";
    std::cerr << "train_bench: " << train::configure_runtime(cfg) << "\n";

    model::Network net(train::network_spec(cfg));
    optim::Optimizer optimizer(train::optimizer_options(cfg));
    const size_t B = static_cast<size_t>(cfg.train.batch_size);

    // Steps of the whole run, to place the evaluations: max_steps, or one pass counting rows.
    uint64_t total_steps = static_cast<uint64_t>(cfg.train.max_steps);
    if (evals > 0 && total_steps == 0) {
      data::CriteoReader counter(train::reader_options(cfg, cfg.data.train, 0, 1, data::LabelMode::Required));
      data::Batch b;
      uint64_t rows = 0;
      while (size_t n = counter.next_batch(b, 1 << 16)) rows += n;
      total_steps = static_cast<uint64_t>(cfg.train.epochs) * ((rows + B - 1) / B);
    }
    std::vector<uint64_t> eval_at;
    for (int k = 1; k <= evals; ++k)
      eval_at.push_back(std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(double(total_steps) * k / evals))));
    std::ofstream curve;
    if (!curve_path.empty()) curve.open(curve_path, std::ios::trunc);

    data::CriteoReader reader(train::reader_options(cfg, cfg.data.train, 0, 1, data::LabelMode::Required));
    data::Batch batch;
    std::vector<model::BlockGrad> grads;
    model::StepStats stats;
    std::vector<float> probe_out;
    std::vector<double> t_opt_block, rows_block;  // per parameter block: optimizer seconds, rows updated
    double t_read = 0, t_fb = 0, t_opt = 0, t_rebuild = 0, t_block_sums = 0, t_probe = 0, t_eval = 0, cpu_eval = 0,
           cpu_probe = 0;
    uint64_t step = 0, samples = 0;
    size_t next_eval = 0;
    int epoch = 0;
    const double cpu0 = cpu_seconds();
    const auto t0 = Clock::now();
    for (;;) {
      if (cfg.train.max_steps > 0 && step >= static_cast<uint64_t>(cfg.train.max_steps)) break;
      auto t = Clock::now();
      const size_t n = reader.next_batch(batch, B);
      t_read += since(t);
      if (n == 0) {
        if (++epoch >= cfg.train.epochs) break;
        reader.rewind();
        continue;
      }
      ++step;
      if (probe) {
        probe_out.resize(n);
        t = Clock::now();
        const double cp = cpu_seconds();
        net.predict(batch, 0, probe_out.data());
        t_probe += since(t);
        cpu_probe += cpu_seconds() - cp;
      }
      t = Clock::now();
      optimizer.begin_step(step);
      net.forward_backward(batch, 1.0f / static_cast<float>(n), step, 0, grads, stats);
      t_fb += since(t);
      auto& blocks = net.blocks();
      t_opt_block.resize(blocks.size(), 0.0);
      rows_block.resize(blocks.size(), 0.0);
      for (size_t b = 0; b < blocks.size(); ++b) {
        t = Clock::now();
        if (grads[b].sparse) {
          optimizer.apply(blocks[b], grads[b].sparse_grad);
          rows_block[b] += static_cast<double>(grads[b].sparse_grad.rows.size());
        } else {
          optimizer.apply(blocks[b], grads[b].dense_grad);
          rows_block[b] += static_cast<double>(blocks[b].rows);
        }
        const double dt = since(t);
        t_opt += dt;
        t_opt_block[b] += dt;
      }
      t = Clock::now();
      net.embed_rows_updated(grads[net.embed_block()].sparse_grad.rows);  // model.embed_sparsity < 1
      t_block_sums += since(t);
      samples += n;
      if (net.rebuild_due(step)) {
        t = Clock::now();
        net.rebuild(step);
        t_rebuild += since(t);
      }
      if (next_eval < eval_at.size() && step == eval_at[next_eval] && !cfg.data.test.empty()) {
        ++next_eval;
        const auto te = Clock::now();
        const double ce = cpu_seconds();
        const Eval e = evaluate(net, cfg);
        t_eval += since(te);
        cpu_eval += cpu_seconds() - ce;
        const double train_s = since(t0) - t_eval - t_probe;
        const double cpu_s = cpu_seconds() - cpu0 - cpu_eval - cpu_probe;
        if (curve)
          curve << "{\"samples\":" << samples << ",\"train_s\":" << json_number(train_s)
                << ",\"cpu_s\":" << json_number(cpu_s) << ",\"read_s\":" << json_number(t_read)
                << ",\"auc\":" << json_number(e.auc) << ",\"logloss\":" << json_number(e.logloss) << "}" << std::endl;
        std::cerr << "eval step " << step << ": " << samples << " samples, " << json_number(train_s)
                  << " s training, auc=" << json_number(e.auc) << "\n";
      }
    }
    const double wall = since(t0) - t_eval - t_probe;
    const double cpu = cpu_seconds() - cpu0 - cpu_eval - cpu_probe;
    // Like Trainer::run: the final evaluation uses the tables training ended with.
    Eval fin;
    if (!cfg.data.test.empty()) fin = evaluate(net, cfg);
    std::string by_block;
    for (size_t b = 0; b < t_opt_block.size(); ++b) {
      if (b) by_block += ",";
      by_block += "\"";
      by_block += net.blocks()[b].name;
      by_block += "\":{\"s\":" + json_number(t_opt_block[b]);
      by_block += ",\"rows_per_step\":" + json_number(rows_block[b] / std::max<double>(step, 1));
      by_block += ",\"cols\":" + std::to_string(net.blocks()[b].cols) + "}";
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::cout << "{\"steps\":" << step << ",\"samples\":" << samples << ",\"train_s\":" << json_number(wall)
              << ",\"cpu_s\":" << json_number(cpu)
              << ",\"samples_per_s\":" << json_number(samples / std::max(wall, 1e-9))
              << ",\"samples_per_cpu_s\":" << json_number(samples / std::max(cpu, 1e-9))
              << ",\"read_s\":" << json_number(t_read) << ",\"fwd_bwd_s\":" << json_number(t_fb)
              << ",\"optim_s\":" << json_number(t_opt) << ",\"rebuild_s\":" << json_number(t_rebuild)
              << ",\"block_sums_s\":" << json_number(t_block_sums) << ",\"rebuilds\":" << net.rebuild_count()
              << (probe ? ",\"forward_probe_s\":" + json_number(t_probe) : std::string()) << ",\"optim_by_block\":{"
              << by_block << "}"
              << ",\"parameters\":" << net.num_parameters() << ",\"max_rss_kb\":" << ru.ru_maxrss
              << ",\"auc\":" << json_number(fin.auc) << ",\"logloss\":" << json_number(fin.logloss)
              << ",\"test_rows\":" << fin.rows << "}" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "train_bench: " << e.what() << "\n";
    return 2;
  }
}
