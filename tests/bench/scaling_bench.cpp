// Where a training step spends its CPU, per rank, and what it puts on the wire, for
// both input-table modes (dist.embedding). Run under mpirun (or alone: P = 1).
//
//   bench_scaling_bench --config F [--section.key V ...] [--bench.steps N]
//   bench_scaling_bench --config F --bench.touched B1,B2,...
//   bench_scaling_bench --bench.probe 1          (under mpirun)
//
// Default mode drives the trainer's own step (train::StepEngine) for --bench.steps timed
// steps after --bench.warmup untimed ones (default 5: the first touches of the step's
// buffers fault in their pages) over data.train (wrapping around), and rank 0 prints one
// JSON line: thread CPU ms per
// step summed over ranks (and of the slowest rank) of compute (forward + backward), plan
// (de-duplicating the next batch's ids), pack, merge, apply (optimizer), fetch (packing
// and placing fetched rows), rebuild, block_sums (embed_sparsity < 1: upkeep and sharing of
// the block sums), and their sum "work"; work CPU per sample (summed
// over ranks); wall ms per step inside collectives; bytes and messages per rank and step;
// rows each owner updates per step and the owners' imbalance (max / mean). Thread CPU
// (CLOCK_THREAD_CPUTIME_ID) measured outside MPI calls does not count the time a rank
// waits for oversubscribed peers, so work efficiency = work per sample on 1 rank /
// work per sample summed over P ranks can be measured honestly on 2 cores. Reading and
// parsing are left out of "work" (they cost the same per sample in every mode).
//
// --bench.probe 1: does a non-blocking collective make progress while the rank
// computes without calling MPI? For a few sizes: a blocking allgatherv, a fixed
// amount of compute alone, and iallgatherv + the same compute + wait. If MPI moved
// the data in the background, "wait after compute" would drop to ~0 and "saved"
// would approach the blocking time; if not, overlapping (begin/finish around
// backward) cannot pay on this machine. Same for iallreduce. Timing on a shared
// machine is noisy, so it also reports the noise-free fact: the fraction of the
// other rank's data in our buffer after both ranks slept 50 ms without any MPI call.
//
// --bench.touched B1,B2,..: no training; reads batches of B rows from data.train
// (serially) and prints the mean number of distinct embedding rows a batch touches,
// for the cost model (scripts/COST_MODEL.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sparsetrain/cli/config.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/collective/gradient_exchange.h"
#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/model/network.h"
#include "sparsetrain/optim/optimizer.h"
#include "sparsetrain/train/setup.h"
#include "sparsetrain/train/step_engine.h"

using namespace sparsetrain;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Takes "--bench.NAME VALUE" out of args.
std::string take_option(std::vector<std::string>& args, const std::string& name, const std::string& def) {
  const std::string flag = "--bench." + name;
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == flag) {
      std::string v = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
      return v;
    }
  return def;
}

int touched_mode(const cli::Config& cfg, const std::string& sizes, collective::Comm& comm) {
  if (!comm.is_root()) return 0;
  std::stringstream ss(sizes);
  std::string item;
  std::cout << "{\"input_dim\":" << cfg.data.input_dim << ",\"touched\":[";
  bool first = true;
  while (std::getline(ss, item, ',')) {
    const size_t B = std::stoul(item);
    data::CriteoReader reader(train::reader_options(cfg, cfg.data.train, 0, 1, data::LabelMode::Required));
    data::Batch batch;
    std::vector<uint32_t> ids;
    double sum = 0;
    int batches = 0;
    // Up to 20 full batches (at least 2M rows' worth when B is small would be overkill).
    while (batches < 20 && reader.next_batch(batch, B) == B) {
      ids.assign(batch.ids.begin(), batch.ids.end());
      std::sort(ids.begin(), ids.end());
      sum += static_cast<double>(std::unique(ids.begin(), ids.end()) - ids.begin());
      ++batches;
    }
    if (batches == 0) continue;
    std::cout << (first ? "" : ",") << "{\"batch\":" << B << ",\"batches\":" << batches
              << ",\"unique_rows\":" << sum / batches << ",\"per_sample\":" << sum / batches / static_cast<double>(B)
              << "}";
    first = false;
  }
  std::cout << "]}" << std::endl;
  return 0;
}

// A fixed amount of arithmetic (not a fixed time), so that being descheduled does
// not change how much work the overlapped and the plain runs do.
double busy_work(size_t iterations) {
  std::vector<double> a(4096, 1.0);
  double acc = 0;
  for (size_t it = 0; it < iterations; ++it)
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = a[i] * 0.999999 + 1e-6;
      acc += a[i];
    }
  return acc;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int probe_overlap(collective::Comm& comm) {
  const int P = comm.size();
  volatile double sink = 0;
  if (comm.is_root()) std::printf("{\"ranks\":%d,\"probe\":[", P);
  bool first = true;
  for (uint64_t words : {16384ull, 550000ull, 4000000ull}) {
    const std::vector<uint64_t> counts(static_cast<size_t>(P), words);
    std::vector<uint32_t> mine(words, 7u), out(words * static_cast<size_t>(P));
    std::vector<float> red(words, 1.0f);
    // Calibrate the work to about twice the blocking collective (after warm-up: the
    // first calls pay page faults), with the same iteration count on every rank.
    double once = 1e9, t0 = 0;
    for (int rep = 0; rep < 4; ++rep) {
      comm.barrier();
      t0 = now();
      comm.allgatherv(mine.data(), counts, out.data());
      once = std::min(once, now() - t0);
    }
    once = std::max(comm.max(once), 1e-4);
    double per_iter = 1e9;
    for (int rep = 0; rep < 3; ++rep) {
      t0 = now();
      sink = sink + busy_work(20);
      per_iter = std::min(per_iter, (now() - t0) / 20);
    }
    const size_t iters = static_cast<size_t>(comm.max(2 * once / std::max(per_iter, 1e-9))) + 1;
    std::vector<double> block, work, total, wait, rblock, rtotal, rwait;
    double background[2] = {0, 0};
    for (int rep = 0; rep < 15; ++rep) {
      comm.barrier();
      t0 = now();
      comm.allgatherv(mine.data(), counts, out.data());
      block.push_back(now() - t0);
      comm.barrier();
      t0 = now();
      sink = sink + busy_work(iters);
      work.push_back(now() - t0);
      comm.barrier();
      t0 = now();
      collective::Request req = comm.iallgatherv(mine.data(), counts, out.data());
      sink = sink + busy_work(iters);
      double t1 = now();
      req.wait();
      wait.push_back(now() - t1);
      total.push_back(now() - t0);
      comm.barrier();
      t0 = now();
      comm.allreduce_sum(red.data(), red.size());
      rblock.push_back(now() - t0);
      comm.barrier();
      t0 = now();
      req = comm.iallreduce_sum(red.data(), red.size());
      sink = sink + busy_work(iters);
      t1 = now();
      req.wait();
      rwait.push_back(now() - t1);
      rtotal.push_back(now() - t0);
    }
    // The noise-free question: with no MPI call at all on either rank (both sleep),
    // does any of the other ranks' data land in our buffer? Sentinels tell.
    const int other = (comm.rank() + 1) % P;
    std::fill(mine.begin(), mine.end(), 1000u + static_cast<uint32_t>(comm.rank()));
    std::fill(out.begin(), out.end(), 0u);
    std::fill(red.begin(), red.end(), 1.0f);
    comm.barrier();
    {
      collective::Request g = comm.iallgatherv(mine.data(), counts, out.data());
      collective::Request r = comm.iallreduce_sum(red.data(), red.size());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      uint64_t arrived = 0, reduced = 0;
      const uint32_t* theirs = out.data() + static_cast<size_t>(other) * words;
      for (uint64_t i = 0; i < words; ++i) arrived += theirs[i] == 1000u + static_cast<uint32_t>(other);
      for (uint64_t i = 0; i < words; ++i) reduced += red[i] == static_cast<float>(P);
      g.wait();
      r.wait();
      background[0] = static_cast<double>(arrived) / static_cast<double>(words);
      background[1] = static_cast<double>(reduced) / static_cast<double>(words);
    }
    if (comm.is_root()) {
      const double b = median(block), w = median(work), tt = median(total), rb = median(rblock), rt = median(rtotal);
      std::printf(
          "%s{\"words_per_rank\":%llu,\"median_ms\":{\"allgatherv\":%.3f,\"compute\":%.3f,"
          "\"iallgatherv_plus_compute\":%.3f,\"wait_after_compute\":%.3f,\"saved\":%.3f,"
          "\"allreduce\":%.3f,\"iallreduce_plus_compute\":%.3f,\"iallreduce_wait_after_compute\":%.3f,"
          "\"iallreduce_saved\":%.3f},\"done_during_50ms_without_mpi_calls\":"
          "{\"iallgatherv\":%.3f,\"iallreduce\":%.3f}}",
          first ? "" : ",", static_cast<unsigned long long>(words), b * 1e3, w * 1e3, tt * 1e3, median(wait) * 1e3,
          (b + w - tt) * 1e3, rb * 1e3, rt * 1e3, median(rwait) * 1e3, (rb + w - rt) * 1e3, background[0],
          background[1]);
      first = false;
    }
  }
  if (comm.is_root()) std::printf("]}\n");
  return sink == 12345.0 ? 1 : 0;
}

// Thread CPU milliseconds per step of this rank's phases (no MPI call inside any of
// them, so a rank waiting for oversubscribed peers adds nothing), wall milliseconds in
// the collectives, bytes and messages: per rank and summed over ranks.
int run(std::vector<std::string> args, collective::Comm& comm) {
  const uint64_t max_steps = std::stoull(take_option(args, "steps", "200"));
  // Untimed first steps: the first touches of a step's buffers fault in every page (~120k
  // page faults per rank at global batch 65,536), which is start-up, not the step.
  const uint64_t warmup = std::stoull(take_option(args, "warmup", "5"));
  if (take_option(args, "probe", "0") == "1") return probe_overlap(comm);
  const std::string touched = take_option(args, "touched", "");
  const cli::Config cfg = cli::parse_args(args).config;
  const std::string runtime = train::configure_runtime(cfg);
  if (!touched.empty()) return touched_mode(cfg, touched, comm);

  const int P = comm.size(), rank = comm.rank();
  data::CriteoReader reader(train::reader_options(cfg, cfg.data.train, rank, P, data::LabelMode::Required));
  model::Network net(train::network_spec(cfg, rank, P));
  train::StepEngine engine(comm, net, train::optimizer_options(cfg), train::exchange_mode(cfg));
  const uint64_t G = static_cast<uint64_t>(cfg.train.batch_size);
  const size_t local_batch = static_cast<size_t>(G / P + (static_cast<uint64_t>(rank) < G % P ? 1 : 0));
  const int kEpochs = 1 << 30;  // the bench wraps around its data
  model::StepStats stats;
  uint64_t step = 0, samples = 0;
  int epoch = 0;
  double read_wall = 0;
  train::GlobalBatch batches[2];
  train::GlobalBatch *cur = &batches[0], *next = &batches[1];
  train::read_global_batch(reader, comm, local_batch, kEpochs, epoch, *cur, read_wall);
  engine.start(*cur);
  // Counters at the end of the warm-up, subtracted at the end.
  train::StepTimes t0_times;
  collective::ExchangeStats x0;
  embedding::ShardStats sh0;
  uint64_t bytes0 = 0, samples0 = 0;
  double t_start = now();
  const uint64_t total_steps = max_steps + warmup;
  while (step < total_steps) {
    if (step == warmup) {
      comm.barrier();
      t_start = now();
      t0_times = engine.times();
      x0 = engine.exchange().stats();
      if (engine.table()) sh0 = engine.table()->stats();
      bytes0 = engine.bytes_sent();
      samples0 = samples;
    }
    ++step;
    const bool more =
        step < total_steps && train::read_global_batch(reader, comm, local_batch, kEpochs, epoch, *next, read_wall);
    engine.step(step, samples, *cur, more ? next : nullptr, stats);
    samples += cur->total;
    std::swap(cur, next);
  }
  const double seconds = now() - t_start;
  step -= warmup;
  samples -= samples0;
  train::StepTimes t = engine.times();
  t.compute -= t0_times.compute;
  t.exchange -= t0_times.exchange;
  t.apply -= t0_times.apply;
  t.plan -= t0_times.plan;
  t.rebuild -= t0_times.rebuild;
  t.block_sums -= t0_times.block_sums;
  collective::ExchangeStats x = engine.exchange().stats();
  x.seconds -= x0.seconds;
  x.pack_seconds -= x0.pack_seconds;
  x.merge_seconds -= x0.merge_seconds;
  x.collectives -= x0.collectives;
  embedding::ShardStats sh;
  if (engine.table()) {
    sh = engine.table()->stats();
    sh.pack_s -= sh0.pack_s;
    sh.merge_s -= sh0.merge_s;
    sh.apply_s -= sh0.apply_s;
    sh.fetch_s -= sh0.fetch_s;
    sh.values_s -= sh0.values_s;
    sh.wire_s -= sh0.wire_s;
    sh.messages -= sh0.messages;
    sh.rows_applied -= sh0.rows_applied;
    sh.rows_requested -= sh0.rows_requested;
  }
  // Per rank: CPU phases, then wall in collectives, bytes, messages, rows.
  enum {
    kCompute,
    kPlan,
    kPack,
    kMerge,
    kApply,
    kFetch,
    kRebuild,
    kBlockSums,
    kWork,
    kWire,
    kBytes,
    kMsgs,
    kApplied,
    kRequested,
    kN
  };
  double v[kN] = {};
  v[kCompute] = t.compute;
  v[kPlan] = t.plan;
  v[kPack] = x.pack_seconds + sh.pack_s;
  v[kMerge] = x.merge_seconds + sh.merge_s;
  v[kApply] = t.apply + sh.apply_s;
  v[kFetch] = sh.fetch_s;
  v[kRebuild] = t.rebuild;
  v[kBlockSums] = t.block_sums + sh.values_s;
  for (int i = kCompute; i <= kBlockSums; ++i) v[kWork] += v[i];
  v[kWire] = (x.seconds - x.pack_seconds - x.merge_seconds) + sh.wire_s;
  v[kBytes] = static_cast<double>(engine.bytes_sent() - bytes0);
  v[kMsgs] = static_cast<double>(sh.messages) + static_cast<double>(x.collectives) * (P - 1);
  v[kApplied] = static_cast<double>(sh.rows_applied);
  v[kRequested] = static_cast<double>(sh.rows_requested);
  std::vector<double> sum(v, v + kN), worst(v, v + kN);
  comm.allreduce_sum(sum.data(), sum.size());
  comm.allreduce_max(worst.data(), worst.size());
  if (!comm.is_root()) return 0;
  const double S = static_cast<double>(std::max<uint64_t>(step, 1));
  auto ms = [&](double x_) { return x_ * 1e3 / S; };
  const char* names[] = {"compute", "plan", "pack", "merge", "apply", "fetch", "rebuild", "block_sums", "work"};
  std::printf(
      "{\"ranks\":%d,\"runtime\":\"%s\",\"embedding\":\"%s\",\"exchange\":\"%s\",\"global_batch\":%llu,"
      "\"steps\":%llu,\"samples\":%llu,\"seconds\":%.3f,\"cpu_ms_per_step_summed_over_ranks\":{",
      P, runtime.c_str(), engine.sharded() ? "sharded" : "replicated", cli::name_of(cfg.dist.exchange),
      static_cast<unsigned long long>(G), static_cast<unsigned long long>(step),
      static_cast<unsigned long long>(samples), seconds);
  for (int i = kCompute; i <= kWork; ++i) std::printf("%s\"%s\":%.3f", i ? "," : "", names[i], ms(sum[i]));
  std::printf("},\"cpu_ms_per_step_slowest_rank\":{");
  for (int i = kCompute; i <= kWork; ++i) std::printf("%s\"%s\":%.3f", i ? "," : "", names[i], ms(worst[i]));
  std::printf(
      "},\"work_cpu_us_per_sample\":%.4f,\"wire_ms_per_step_mean\":%.3f,\"bytes_sent_per_step_per_rank\":%.0f,"
      "\"messages_per_step_per_rank\":%.1f,\"rows_applied_per_step_per_rank\":%.1f,\"rows_requested_per_step_per_"
      "rank\":%.1f,"
      "\"owner_rows_max_over_mean\":%.4f}\n",
      sum[kWork] * 1e6 / static_cast<double>(std::max<uint64_t>(samples, 1)), ms(sum[kWire] / P), sum[kBytes] / P / S,
      sum[kMsgs] / P / S, sum[kApplied] / P / S, sum[kRequested] / P / S,
      sum[kApplied] > 0 ? worst[kApplied] / (sum[kApplied] / P) : 0.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  collective::Comm& comm = collective::Comm::world(&argc, &argv);
  const std::vector<std::string> args(argv + 1, argv + argc);
  const int rc = collective::run_guarded(comm, [&] { return run(args, comm); });
  comm.finalize();
  return rc;
}
