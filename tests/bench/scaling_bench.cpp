// Where a data-parallel training step spends its time, per rank, and what the
// gradient exchange puts on the wire. Run under mpirun (or alone: P = 1).
//
//   bench_scaling_bench --config F [--section.key V ...] [--bench.steps N]
//   bench_scaling_bench --config F --bench.touched B1,B2,...
//   bench_scaling_bench --bench.probe 1          (under mpirun)
//
// Default mode runs the training step loop of Trainer::run (src/train/trainer.cpp):
// read this rank's share of the global batch, allreduce the row count, forward +
// backward with loss scale 1/global batch, one GradientExchange::combine for all
// blocks, optimizer per block, LSH rebuild on the schedule; epochs repeat until
// --bench.steps steps. Every phase is timed on every rank; rank 0 prints one JSON
// line with the per-step mean over ranks (and the slowest rank) of:
//   read, count (the batch-size allreduce), compute (forward+backward), exchange,
//   of which wait (header allgather: ~ waiting for the slowest rank), pack, merge
//   (sparse merge + dense unpack) and transfer (the rest: data collectives), apply,
//   rebuild; and thread CPU time of compute and apply (wall >> CPU: descheduled);
// plus bytes sent per step, sparse payload per step, their ratio, what dense
// exchange would have sent, collectives per step, and touched rows per step per
// sparse block (this rank's and the union over ranks).
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
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sparsetrain/cli/config.h"
#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/dist/comm.h"
#include "sparsetrain/dist/gradient_exchange.h"
#include "sparsetrain/model/network.h"
#include "sparsetrain/optim/optimizer.h"
#include "sparsetrain/train/setup.h"

using namespace sparsetrain;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// CPU time of the calling thread: with one OpenMP thread, the rank's own work. Wall
// time well above it means the rank was waiting (in MPI) or descheduled.
double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

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

int touched_mode(const cli::Config& cfg, const std::string& sizes, dist::Comm& comm) {
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

int probe_overlap(dist::Comm& comm) {
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
      dist::Request req = comm.iallgatherv(mine.data(), counts, out.data());
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
      dist::Request g = comm.iallgatherv(mine.data(), counts, out.data());
      dist::Request r = comm.iallreduce_sum(red.data(), red.size());
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
      std::printf("%s{\"words_per_rank\":%llu,\"median_ms\":{\"allgatherv\":%.3f,\"compute\":%.3f,"
                  "\"iallgatherv_plus_compute\":%.3f,\"wait_after_compute\":%.3f,\"saved\":%.3f,"
                  "\"allreduce\":%.3f,\"iallreduce_plus_compute\":%.3f,\"iallreduce_wait_after_compute\":%.3f,"
                  "\"iallreduce_saved\":%.3f},\"done_during_50ms_without_mpi_calls\":"
                  "{\"iallgatherv\":%.3f,\"iallreduce\":%.3f}}",
                  first ? "" : ",", static_cast<unsigned long long>(words), b * 1e3, w * 1e3, tt * 1e3,
                  median(wait) * 1e3, (b + w - tt) * 1e3, rb * 1e3, rt * 1e3, median(rwait) * 1e3,
                  (rb + w - rt) * 1e3, background[0], background[1]);
      first = false;
    }
  }
  if (comm.is_root()) std::printf("]}\n");
  return sink == 12345.0 ? 1 : 0;
}

enum Phase { kRead, kCount, kCompute, kExchange, kWait, kPack, kMerge, kApply, kRebuild, kPhases };
const char* kPhaseNames[kPhases] = {"read", "count", "compute", "exchange", "wait", "pack", "merge", "apply", "rebuild"};

int run(std::vector<std::string> args, dist::Comm& comm) {
  const uint64_t max_steps = std::stoull(take_option(args, "steps", "200"));
  if (take_option(args, "probe", "0") == "1") return probe_overlap(comm);
  const std::string touched = take_option(args, "touched", "");
  const cli::Config cfg = cli::parse_args(args).config;
  const std::string runtime = train::configure_runtime(cfg);
  if (!touched.empty()) return touched_mode(cfg, touched, comm);

  const int P = comm.size(), rank = comm.rank();
  data::CriteoReader reader(train::reader_options(cfg, cfg.data.train, rank, P, data::LabelMode::Required));
  model::Network net(train::network_spec(cfg));
  optim::Optimizer optimizer(train::optimizer_options(cfg));
  dist::GradientExchange exchange(comm, dist::parse_exchange_mode(cfg.dist.exchange));
  const uint64_t G = static_cast<uint64_t>(cfg.train.batch_size);
  const size_t local_batch = static_cast<size_t>(G / P + (static_cast<uint64_t>(rank) < G % P ? 1 : 0));

  double t[kPhases] = {};
  double cpu_compute = 0, cpu_apply = 0;
  std::vector<double> touched_mine, touched_union;  // per sparse block, summed over steps
  data::Batch batch;
  std::vector<model::BlockGrad> grads;
  model::StepStats stats;
  uint64_t step = 0, samples = 0;
  comm.barrier();
  const double t_start = now(), cpu_start = cpu_now();
  while (step < max_steps) {
    double t0 = now();
    const size_t n = reader.next_batch(batch, local_batch);
    t[kRead] += now() - t0;
    t0 = now();
    const uint64_t total = comm.sum(static_cast<uint64_t>(n));
    t[kCount] += now() - t0;
    if (total == 0) {
      reader.rewind();
      continue;
    }
    ++step;
    optimizer.begin_step(step);
    t0 = now();
    double c0 = cpu_now();
    net.forward_backward(batch, 1.0f / static_cast<float>(total), step, static_cast<uint64_t>(rank) << 40, grads,
                         stats);
    t[kCompute] += now() - t0;
    cpu_compute += cpu_now() - c0;
    auto& blocks = net.blocks();
    std::vector<dist::GradSlot> slots;
    std::vector<double> mine;
    for (size_t b = 0; b < blocks.size(); ++b) {
      if (grads[b].sparse) mine.push_back(static_cast<double>(grads[b].sparse_grad.rows.size()));
      slots.push_back(grads[b].sparse ? dist::GradSlot::of(grads[b].sparse_grad, blocks[b].rows)
                                      : dist::GradSlot::of(grads[b].dense_grad));
    }
    t0 = now();
    exchange.combine(slots);
    t[kExchange] += now() - t0;
    touched_mine.resize(mine.size());
    touched_union.resize(mine.size());
    for (size_t b = 0, k = 0; b < blocks.size(); ++b)
      if (grads[b].sparse) {
        touched_mine[k] += mine[k];
        touched_union[k] += static_cast<double>(grads[b].sparse_grad.rows.size());
        ++k;
      }
    t0 = now();
    c0 = cpu_now();
    for (size_t b = 0; b < blocks.size(); ++b) {
      if (grads[b].sparse)
        optimizer.apply(blocks[b], grads[b].sparse_grad);
      else
        optimizer.apply(blocks[b], grads[b].dense_grad);
    }
    t[kApply] += now() - t0;
    cpu_apply += cpu_now() - c0;
    t0 = now();
    if (net.rebuild_due(step)) net.rebuild(step);
    t[kRebuild] += now() - t0;
    samples += total;
  }
  const double seconds = now() - t_start;
  double cpu[3] = {cpu_now() - cpu_start, cpu_compute, cpu_apply};
  comm.allreduce_sum(cpu, 3);
  const dist::ExchangeStats& x = exchange.stats();
  t[kWait] = x.wait_seconds;
  t[kPack] = x.pack_seconds;
  t[kMerge] = x.merge_seconds;

  // Mean and max over ranks of each phase, per step, in ms.
  std::vector<double> mean(t, t + kPhases), worst(t, t + kPhases);
  comm.allreduce_sum(mean.data(), mean.size());
  comm.allreduce_max(worst.data(), worst.size());
  double bytes[4] = {static_cast<double>(x.bytes_sent), static_cast<double>(x.sparse_bytes_sent),
                     static_cast<double>(x.sparse_payload_bytes), static_cast<double>(x.sparse_dense_equiv_bytes)};
  comm.allreduce_sum(bytes, 4);
  std::vector<double> tm = touched_mine;
  comm.allreduce_sum(tm.data(), tm.size());
  if (!comm.is_root()) return 0;
  const double S = static_cast<double>(std::max<uint64_t>(step, 1));
  auto ms = [&](double v) { return v * 1e3 / S; };
  std::printf("{\"ranks\":%d,\"runtime\":\"%s\",\"exchange_mode\":\"%s\",\"steps\":%llu,\"samples\":%llu,"
              "\"seconds\":%.3f,\"samples_per_s\":%.1f,\"ms_per_step\":{",
              P, runtime.c_str(), cfg.dist.exchange.c_str(), static_cast<unsigned long long>(step),
              static_cast<unsigned long long>(samples), seconds, static_cast<double>(samples) / seconds);
  for (int p = 0; p < kPhases; ++p) std::printf("%s\"%s\":%.3f", p ? "," : "", kPhaseNames[p], ms(mean[p] / P));
  std::printf(",\"transfer\":%.3f},\"ms_per_step_slowest_rank\":{",
              ms((mean[kExchange] - mean[kWait] - mean[kPack] - mean[kMerge]) / P));
  for (int p = 0; p < kPhases; ++p) std::printf("%s\"%s\":%.3f", p ? "," : "", kPhaseNames[p], ms(worst[p]));
  std::printf("},\"cpu_ms_per_step\":{\"total\":%.3f,\"compute\":%.3f,\"apply\":%.3f",
              ms(cpu[0] / P), ms(cpu[1] / P), ms(cpu[2] / P));
  std::printf("},\"bytes_sent_per_step\":%.0f,\"sparse_bytes_sent_per_step\":%.0f,\"sparse_payload_per_step\":%.0f,"
              "\"sparse_wire_over_payload\":%.4f,\"dense_equiv_bytes_per_step\":%.0f,\"collectives_per_step\":%.2f,"
              "\"sparse_exchanges\":%llu,\"dense_exchanges\":%llu,\"touched_rows_per_step\":[",
              bytes[0] / P / S, bytes[1] / P / S, bytes[2] / P / S, bytes[2] > 0 ? bytes[1] / bytes[2] : 0.0,
              bytes[3] / P / S, static_cast<double>(x.collectives) / S,
              static_cast<unsigned long long>(x.sparse_exchanges), static_cast<unsigned long long>(x.dense_exchanges));
  for (size_t k = 0; k < tm.size(); ++k)
    std::printf("%s{\"per_rank\":%.1f,\"union\":%.1f}", k ? "," : "", tm[k] / P / S, touched_union[k] / S);
  std::printf("]}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  dist::Comm& comm = dist::Comm::world(&argc, &argv);
  const std::vector<std::string> args(argv + 1, argv + argc);
  const int rc = dist::run_guarded(comm, [&] { return run(args, comm); });
  comm.finalize();
  return rc;
}
