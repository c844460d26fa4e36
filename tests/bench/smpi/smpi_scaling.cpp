// One rank of the scaling simulation (scripts/simulate_scaling.sh): the real exchange code
// of a training step, with the model's arithmetic replaced by its measured cost.
//
// Built twice from this file (CMake option SPARSETRAIN_SMPI, see tests/bench/smpi/README.md):
//   smpi_scaling      with SimGrid's smpicxx, run by smpirun on a simulated platform;
//   smpi_scaling_mpi  with the real Open MPI, run by mpirun here (calibration).
// Both link the project's own collective::Comm, collective::GradientExchange (the fused
// header allgather + allreduce of the replicated blocks), embedding::BatchRows and
// embedding::ShardedTable, compiled from src/ (not copies). OpenMP and HDF5 stay out: SMPI
// runs every rank in one process.
//
// Each step, every rank:
//   1. draws its b rows from the synth generator's own sampler (synth::RowSampler, the 1tb
//      profile by default) and hashes them with the trainer's Featurizer, so the ids and
//      the touched rows U(b) are the trainer's (not timed: the trainer's reading is in 2.);
//   2. allreduces the ranks' row counts, as train::read_global_batch does;
//   3. computes: a stand-in of b * (compute_us + read_us) seconds (forward, backward, read);
//   4. exchanges the replicated blocks' gradient (dense_floats floats) with GradientExchange
//      and applies Adam to them: a stand-in of dense_floats / embed_dim rows of apply_ns;
//   5. sharded: plans the next batch (BatchRows::plan, real) and runs ShardedTable's
//      push_and_fetch (real rows on the wire, real merge), whose owner update is a stand-in
//      of apply_ns per updated row;
//      replicated: the sparse embedding gradient (this rank's distinct rows) goes through
//      GradientExchange's sparse path (real allgatherv and merge), then every rank applies
//      Adam to the union: a stand-in of apply_ns per row.
// A stand-in is smpi_execute() under SMPI (simulated seconds at the platform's core speed)
// and a busy loop on the thread's CPU clock under real MPI. Everything else between MPI calls
// is real code that SMPI times on this machine and replays at the platform's core speed.
//
// Rank 0 prints one JSON line: step time (slowest rank), the mean per-rank seconds of each
// part, bytes and messages per rank and step, rows per rank, U(b) and U(G).
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sparsetrain/collective/comm.h"
#include "sparsetrain/collective/gradient_exchange.h"
#include "sparsetrain/collective/row_merge.h"
#include "sparsetrain/data/featurizer.h"
#include "sparsetrain/embedding/batch_rows.h"
#include "sparsetrain/embedding/sharded_table.h"
#include "sparsetrain/optim/param_block.h"
#include "sparsetrain/synth/synth.h"
#include "sparsetrain/util/cpu_time.h"

#ifdef SPARSETRAIN_SMPI
#include <smpi/smpi.h>
#endif

using namespace sparsetrain;

namespace {

// Per-unit costs of a step on one thread of the dev VM. compute, read and apply stand in
// under both MPIs; the plumbing costs (plan, pack, merge, serve) only under SMPI, where the
// real plumbing runs untimed (smpi/simulate-computation:no, see README.md): timing it on a
// shared 2-core VM turned page-fault and memory-bandwidth noise into waiting at every
// collective. The defaults are medians measured by this driver under mpirun (unit_costs in
// its output; scripts/simulate_scaling.sh --calibrate).
struct Costs {
  double compute_us = 3.2, read_us = 0.6, apply_ns = 113;  // scripts/COST_MODEL.md
  double plan_ns_per_id = 10, pack_ns_per_row = 26, merge_ns_per_row = 26, serve_ns_per_row = 66;
};

struct Options {
  std::string mode = "sharded";  // sharded | replicated
  uint64_t global_batch = 8192;  // strong scaling: G rows per step over all ranks
  uint64_t rank_batch = 0;       // weak scaling: b rows per rank (overrides global_batch)
  int steps = 5, warmup = 3;
  uint64_t input_dim = 1ull << 24;
  size_t embed_dim = 64;
  uint64_t dense_floats = 69505;  // configs/criteo-1tb-1b.ini: hidden 1024 (cost_model.py dense_floats)
  Costs costs;
  std::string profile = "1tb";
  uint64_t seed = 1;
  uint64_t merge_bench = 0;  // > 0: time the owner's merge at this many ranks instead (serial)
};

[[noreturn]] void usage(const std::string& why) {
  throw std::invalid_argument(
      why +
      "\nusage: smpi_scaling [--mode sharded|replicated] [--global-batch G | --rank-batch b] [--steps N] [--warmup N]"
      " [--input-dim N] [--embed-dim N] [--dense-floats N] [--profile kaggle|1tb] [--seed N]"
      " [--merge-bench P] [--compute-us X] [--read-us X] [--apply-ns X] [--plan-ns X] [--pack-ns X] [--merge-ns X] "
      "[--serve-ns X]");
}

Options parse(int argc, char** argv) {
  Options o;
  Costs& c = o.costs;
  for (int i = 1; i < argc; i += 2) {
    const std::string key = argv[i];
    if (i + 1 >= argc) usage("missing value after " + key);
    const std::string v = argv[i + 1];
    try {
      if (key == "--mode")
        o.mode = v;
      else if (key == "--global-batch")
        o.global_batch = std::stoull(v);
      else if (key == "--rank-batch")
        o.rank_batch = std::stoull(v);
      else if (key == "--steps")
        o.steps = std::stoi(v);
      else if (key == "--warmup")
        o.warmup = std::stoi(v);
      else if (key == "--input-dim")
        o.input_dim = std::stoull(v);
      else if (key == "--embed-dim")
        o.embed_dim = std::stoull(v);
      else if (key == "--dense-floats")
        o.dense_floats = std::stoull(v);
      else if (key == "--profile")
        o.profile = v;
      else if (key == "--seed")
        o.seed = std::stoull(v);
      else if (key == "--merge-bench")
        o.merge_bench = std::stoull(v);
      else if (key == "--compute-us")
        c.compute_us = std::stod(v);
      else if (key == "--read-us")
        c.read_us = std::stod(v);
      else if (key == "--apply-ns")
        c.apply_ns = std::stod(v);
      else if (key == "--plan-ns")
        c.plan_ns_per_id = std::stod(v);
      else if (key == "--pack-ns")
        c.pack_ns_per_row = std::stod(v);
      else if (key == "--merge-ns")
        c.merge_ns_per_row = std::stod(v);
      else if (key == "--serve-ns")
        c.serve_ns_per_row = std::stod(v);
      else
        usage("unknown option " + key);
    } catch (const std::logic_error&) {
      usage("bad value '" + v + "' for " + key);
    }
  }
  if (o.mode != "sharded" && o.mode != "replicated") usage("--mode must be sharded or replicated, not " + o.mode);
  if (o.steps < 1 || o.warmup < 0) usage("--steps must be >= 1 and --warmup >= 0");
  if (o.input_dim == 0 || o.input_dim > (1ull << 32) || o.embed_dim == 0) usage("bad table shape");
  return o;
}

// Work the simulation does not run for real: simulated seconds under SMPI, a busy loop on
// this thread's CPU clock under real MPI (so oversubscribed ranks share the cores).
void stand_in(double seconds) {
  if (seconds <= 0) return;
#ifdef SPARSETRAIN_SMPI
  // smpi_execute converts with smpi/host-speed and runs at the platform's core speed. Not
  // inside a benchmarked section: while this rank waits in it SimGrid runs the other
  // ranks, whose host time would be charged to this one.
  smpi_bench_end();
  smpi_execute(seconds);
  smpi_bench_begin();
#else
  const double end = util::thread_cpu_seconds() + seconds;
  while (util::thread_cpu_seconds() < end) {
  }
#endif
}

// The modeled cost of plumbing that ran for real but untimed (SMPI only; under real MPI
// the real code took its real time).
void plumbing(double seconds) {
#ifdef SPARSETRAIN_SMPI
  stand_in(seconds);
#else
  (void)seconds;
#endif
}

// Host work that is setup, not part of a step (drawing the data): not timed by SMPI.
struct Untimed {
#ifdef SPARSETRAIN_SMPI
  Untimed() { smpi_bench_end(); }
  ~Untimed() { smpi_bench_begin(); }
#else
  Untimed() {}  // user-provided: a scope guard, not an unused variable
  ~Untimed() {}
#endif
};

// Rows of rank r in a step of P ranks: b each (weak scaling), or G split as evenly as possible.
uint64_t rows_of_rank(const Options& o, uint64_t P, uint64_t r) {
  return o.rank_batch ? o.rank_batch : (o.global_batch + P - 1 - r) / P;
}

// The hashed ids of rows first .. first + n of the stream `seed`: the generator's rows
// through the trainer's featurizer.
void featurize_rows(const synth::RowSampler& sampler, const data::Featurizer& featurizer, uint64_t seed, uint64_t first,
                    uint64_t n, std::vector<uint32_t>& ids) {
  ids.resize(n * data::Featurizer::kIdsPerRow);
  data::CriteoRow row;
  for (uint64_t i = 0; i < n; ++i) {
    sampler.sample(seed, first + i, row);
    featurizer.featurize(row, &ids[i * data::Featurizer::kIdsPerRow], nullptr);
  }
}

// What one rank spent in one step (seconds: simulated under SMPI) and what it moved.
enum Field {
  kCompute,
  kControl,
  kDenseExchange,
  kDenseApply,
  kPlan,
  kTable,
  kEmbedApply,  // parts of the step
  kPackS,
  kMergeS,
  kServeS,
  kWireS,  // the table's own split (embedding::ShardStats)
  kPlanCpu,
  kIds,
  kRowsTouched,
  kRowsPushed,
  kRowsMerged,
  kRowsServed,
  kRowsUpdated,
  kBytes,
  kMessages,
  kTotal,
  kFields
};
const char* const kFieldNames[kFields] = {
    "compute",     "control",     "dense_exchange", "dense_apply",  "plan",       "table",    "embed_apply",
    "table_pack",  "table_merge", "table_serve",    "table_wire",   "plan_cpu",   "ids",      "rows_touched",
    "rows_pushed", "rows_merged", "rows_served",    "rows_updated", "bytes_sent", "messages", "total"};
constexpr int kFirstCount = kPlanCpu, kParts = kPackS;
using Step = std::array<double, kFields>;

class Rank {
 public:
  Rank(collective::Comm& comm, const Options& o);
  bool sharded() const { return o_.mode == "sharded" && P_ > 1; }
  uint64_t rank_batch() const { return b_; }
  uint64_t global_batch() const { return G_; }
  Step step();

 private:
  // This rank's rows of step `step`, then a barrier: under real MPI drawing takes host time
  // that differs between ranks, and a rank waiting for a slower drawer inside the next
  // collective would count it as exchange time. Neither is timed.
  void draw(uint64_t step, std::vector<uint32_t>& ids);
  void replicated_embedding(Step& st);
  void sharded_embedding(Step& st);

  collective::Comm& comm_;
  const Options& o_;
  const Costs& c_;
  const uint64_t P_, b_, G_;
  uint64_t offset_ = 0, step_ = 0;
  synth::RowSampler sampler_;
  data::Featurizer featurizer_;
  collective::GradientExchange exchange_;
  optim::DenseGrad dense_;
  optim::SparseGrad embed_grad_;
  optim::ParamBlock local_;
  std::unique_ptr<embedding::ShardedTable> table_;
  embedding::BatchRows cur_, next_;
  std::vector<uint32_t> ids_, next_ids_;
  std::vector<uint64_t> rank_rows_;
};

data::FeaturizerOptions featurizer_options(const Options& o) {
  data::FeaturizerOptions f;
  f.input_dim = o.input_dim;
  f.dense_features = false;
  return f;
}

Rank::Rank(collective::Comm& comm, const Options& o)
    : comm_(comm),
      o_(o),
      c_(o.costs),
      P_(static_cast<uint64_t>(comm.size())),
      b_(rows_of_rank(o, P_, static_cast<uint64_t>(comm.rank()))),
      G_(o.rank_batch ? o.rank_batch * P_ : o.global_batch),
      sampler_(synth::parse_profile(o.profile)),
      featurizer_(featurizer_options(o)),
      exchange_(comm, collective::ExchangeMode::Auto),
      rank_rows_(P_) {
  for (uint64_t r = 0; r < static_cast<uint64_t>(comm.rank()); ++r) offset_ += rows_of_rank(o, P_, r);
  dense_.values.assign(o.dense_floats, 0.0f);
  if (!sharded()) return;
  Untimed untimed;
  local_.shard = {o.input_dim, static_cast<uint32_t>(comm.rank()), static_cast<uint32_t>(P_)};
  local_.rows = local_.shard.local_rows();
  local_.cols = o.embed_dim;
  local_.w.assign(local_.rows * o.embed_dim, 0.0f);  // the served rows; Adam's m, v are stood in
  table_ = std::make_unique<embedding::ShardedTable>(comm, local_);
  draw(0, ids_);
  cur_.plan(ids_.data(), ids_.size(), local_.shard, data::Featurizer::kIdsPerRow);
  table_->fetch(cur_);
}

void Rank::draw(uint64_t step, std::vector<uint32_t>& ids) {
  Untimed untimed;
  featurize_rows(sampler_, featurizer_, o_.seed, step * G_ + offset_, b_, ids);
  comm_.barrier();
}

// Replicated: this rank's distinct rows through the sparse path of the fused exchange
// (with the dense blocks), then Adam on the union on every rank.
void Rank::replicated_embedding(Step& st) {
  {
    Untimed untimed;  // the trainer's backward builds this: part of compute_us
    embed_grad_.rows.assign(ids_.begin(), ids_.end());
    std::sort(embed_grad_.rows.begin(), embed_grad_.rows.end());
    embed_grad_.rows.erase(std::unique(embed_grad_.rows.begin(), embed_grad_.rows.end()), embed_grad_.rows.end());
    embed_grad_.cols = o_.embed_dim;
    embed_grad_.values.assign(embed_grad_.rows.size() * o_.embed_dim, 0.0f);
  }
  const double mine = static_cast<double>(embed_grad_.rows.size());
  st[kRowsTouched] = st[kRowsPushed] = mine;
  double t = util::wall_seconds();
  exchange_.combine({collective::GradSlot::of(embed_grad_, o_.input_dim), collective::GradSlot::of(dense_)});
  st[kDenseExchange] = util::wall_seconds() - t;
  // Every rank packs its rows and merges all ranks' (about P times its own; merge_rows).
  t = util::wall_seconds();
  if (P_ > 1) plumbing(mine * (c_.pack_ns_per_row + static_cast<double>(P_) * c_.merge_ns_per_row) * 1e-9);
  st[kTable] = util::wall_seconds() - t;
  st[kRowsMerged] = P_ > 1 ? mine * static_cast<double>(P_) : 0;
  st[kRowsUpdated] = static_cast<double>(embed_grad_.rows.size());
  t = util::wall_seconds();
  stand_in(st[kRowsUpdated] * c_.apply_ns * 1e-9);
  st[kEmbedApply] = util::wall_seconds() - t;
}

// Sharded: plan the next batch, then the table's step: gradient rows to the owners, who
// merge and update them, and the next batch's rows back.
void Rank::sharded_embedding(Step& st) {
  draw(step_ + 1, next_ids_);
  double t = util::wall_seconds();
  const double c0 = util::thread_cpu_seconds();
  next_.plan(next_ids_.data(), next_ids_.size(), local_.shard, data::Featurizer::kIdsPerRow);
  plumbing(static_cast<double>(next_ids_.size()) * c_.plan_ns_per_id * 1e-9);
  st[kPlanCpu] = util::thread_cpu_seconds() - c0;
  st[kPlan] = util::wall_seconds() - t;
  st[kIds] = static_cast<double>(next_ids_.size());
  {
    Untimed untimed;  // the backward's gradient rows: part of compute_us
    embed_grad_.rows.resize(cur_.size());
    embed_grad_.cols = o_.embed_dim;
    embed_grad_.values.assign(cur_.size() * o_.embed_dim, 0.0f);
  }
  st[kRowsTouched] = static_cast<double>(cur_.size());
  const embedding::ShardStats before = table_->stats();
  t = util::wall_seconds();
  plumbing(static_cast<double>(cur_.size()) * c_.pack_ns_per_row * 1e-9);
  double applied = 0;
  table_->push_and_fetch(
      cur_, embed_grad_,
      [&](optim::ParamBlock&, const optim::SparseGrad& summed) {
        const uint64_t merged = table_->stats().rows_merged - before.rows_merged;
        plumbing(static_cast<double>(merged) * c_.merge_ns_per_row * 1e-9);
        const double a0 = util::wall_seconds();
        stand_in(static_cast<double>(summed.rows.size()) * c_.apply_ns * 1e-9);
        applied += util::wall_seconds() - a0;
      },
      &next_);
  const embedding::ShardStats& after = table_->stats();
  // Serving (gathering the requested rows) happens before round B in the real code; here
  // its modeled cost comes after it (the requests are known only inside the call).
  plumbing(static_cast<double>(after.rows_served - before.rows_served) * c_.serve_ns_per_row * 1e-9);
  st[kTable] = util::wall_seconds() - t - applied;
  st[kEmbedApply] = applied;
  st[kPackS] = after.pack_s - before.pack_s;
  st[kMergeS] = after.merge_s - before.merge_s;
  st[kServeS] = after.fetch_s - before.fetch_s;
  st[kWireS] = after.wire_s - before.wire_s;
  st[kRowsPushed] = static_cast<double>(after.rows_pushed - before.rows_pushed);
  st[kRowsMerged] = static_cast<double>(after.rows_merged - before.rows_merged);
  st[kRowsServed] = static_cast<double>(after.rows_served - before.rows_served);
  st[kRowsUpdated] = static_cast<double>(after.rows_applied - before.rows_applied);
  st[kMessages] = static_cast<double>(after.messages - before.messages);
  std::swap(cur_, next_);
  std::swap(ids_, next_ids_);
}

Step Rank::step() {
  Step st{};
  const uint64_t bytes0 = comm_.bytes_sent();
  if (!sharded()) draw(step_, ids_);
  double t = util::wall_seconds();
  std::fill(rank_rows_.begin(), rank_rows_.end(), 0);  // train::read_global_batch's row counts
  rank_rows_[static_cast<size_t>(comm_.rank())] = b_;
  comm_.allreduce_sum(rank_rows_.data(), rank_rows_.size());
  st[kControl] = util::wall_seconds() - t;

  t = util::wall_seconds();
  stand_in(static_cast<double>(b_) * (c_.compute_us + c_.read_us) * 1e-6);
  st[kCompute] = util::wall_seconds() - t;

  if (sharded()) {
    t = util::wall_seconds();
    exchange_.combine({collective::GradSlot::of(dense_)});
    st[kDenseExchange] = util::wall_seconds() - t;
  } else {
    replicated_embedding(st);
  }
  t = util::wall_seconds();
  stand_in(static_cast<double>(o_.dense_floats) / static_cast<double>(o_.embed_dim) * c_.apply_ns * 1e-9);
  st[kDenseApply] = util::wall_seconds() - t;
  if (sharded()) sharded_embedding(st);
  st[kBytes] = static_cast<double>(comm_.bytes_sent() - bytes0);
  for (int f = 0; f < kParts; ++f) st[kTotal] += st[f];  // drawing and its barrier are in no part
  ++step_;
  return st;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// One JSON line: per field the median over the timed steps of the mean over ranks; step_s
// the median over steps of the slowest rank's step; unit costs (ns) from the same medians.
std::string report(const Options& o, const Rank& rank, int P, const std::vector<Step>& sums,
                   const std::vector<double>& slowest) {
  Step med{};
  for (int f = 0; f < kFields; ++f) {
    std::vector<double> per_step;
    for (const Step& s : sums) per_step.push_back(s[f] / P);
    med[f] = median(per_step);
  }
  auto unit = [&](Field seconds, Field count) {
    std::vector<double> per_step;
    for (const Step& s : sums)
      if (s[count] > 0) per_step.push_back(s[seconds] / s[count] * 1e9);
    return per_step.empty() ? 0.0 : median(per_step);
  };
  const char* mode = P == 1 ? "single" : rank.sharded() ? "sharded" : "replicated";
  std::string out = "{\"P\":" + std::to_string(P) + ",\"mode\":\"" + mode +
                    "\",\"G\":" + std::to_string(rank.global_batch()) + ",\"b\":" + std::to_string(rank.rank_batch()) +
                    ",\"steps\":" + std::to_string(o.steps) + ",\"step_s\":" + number(median(slowest)) +
                    ",\"parts_s\":{";
  for (int f = 0; f < kFirstCount; ++f)
    out += std::string(f ? "," : "") + "\"" + kFieldNames[f] + "\":" + number(med[f]);
  out += "},\"per_rank\":{";
  for (int f = kFirstCount; f < kTotal; ++f)
    out += std::string(f > kFirstCount ? "," : "") + "\"" + kFieldNames[f] + "\":" + number(med[f]);
  out += "},\"unit_costs_ns\":{\"plan_per_id\":" + number(unit(kPlanCpu, kIds)) +
         ",\"pack_per_row\":" + number(unit(kPackS, kRowsPushed)) +
         ",\"merge_per_row\":" + number(unit(kMergeS, kRowsMerged)) +
         ",\"serve_per_row\":" + number(unit(kServeS, kRowsServed)) + "}}";
  return out;
}

// --merge-bench P: the merge of step 0 of a P-rank run, timed on the real
// collective::merge_rows (one thread, no MPI): sharded, rank 0's merge of the rows it owns;
// replicated, any rank's merge of every rank's distinct rows. Its cost per row grows with P (the merge
// scans every rank's list head for each output row), so scripts/simulate_scaling.sh
// measures it at each simulated P and passes it as --merge-ns.
int merge_bench(const Options& o) {
  const uint64_t P = o.merge_bench;
  const synth::RowSampler sampler(synth::parse_profile(o.profile));
  const data::Featurizer featurizer(featurizer_options(o));
  std::vector<std::vector<uint32_t>> owned(P);  // rank r's ids that rank 0 owns, sorted
  std::vector<uint32_t> ids;
  embedding::BatchRows plan;
  uint64_t first = 0, longest = 0;
  for (uint64_t r = 0; r < P; ++r) {
    const uint64_t b = rows_of_rank(o, P, r);
    featurize_rows(sampler, featurizer, o.seed, first, b, ids);
    first += b;
    plan.plan(ids.data(), ids.size(), {o.input_dim, static_cast<uint32_t>(r), static_cast<uint32_t>(P)},
              data::Featurizer::kIdsPerRow);
    if (o.mode == "replicated")
      owned[r] = plan.ids;
    else
      owned[r].assign(plan.by_slot.begin(), plan.by_slot.begin() + static_cast<long>(plan.per_owner[0]));
    longest = std::max<uint64_t>(longest, owned[r].size());
  }
  const std::vector<uint32_t> zeros(longest * o.embed_dim, 0);
  std::vector<collective::RankRows> parts;
  uint64_t rows_in = 0;
  for (const auto& v : owned) {
    parts.push_back({v.data(), zeros.data(), v.size()});
    rows_in += v.size();
  }
  optim::SparseGrad merged;
  std::vector<double> seconds;
  for (int rep = 0; rep < 7; ++rep) {
    const double t0 = util::thread_cpu_seconds();
    collective::merge_rows(parts, o.embed_dim, merged);
    seconds.push_back(util::thread_cpu_seconds() - t0);
  }
  std::cout << "{\"P\":" << P << ",\"rows_in\":" << rows_in << ",\"rows_out\":" << merged.rows.size()
            << ",\"merge_ns_per_row\":" << number(median(seconds) / static_cast<double>(rows_in) * 1e9) << "}"
            << std::endl;
  return 0;
}

int run(collective::Comm& comm, const Options& o) {
  if (o.merge_bench) return comm.is_root() ? merge_bench(o) : 0;
  Rank rank(comm, o);
  for (int s = 0; s < o.warmup; ++s) rank.step();  // buffers grow and fault in their pages
  std::vector<Step> sums;
  std::vector<double> slowest;
  for (int s = 0; s < o.steps; ++s) {
    Step st = rank.step();
    const double total = st[kTotal];
    comm.allreduce_sum(st.data(), st.size());
    sums.push_back(st);
    slowest.push_back(comm.max(total));
  }
  if (comm.is_root()) std::cout << report(o, rank, comm.size(), sums, slowest) << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  collective::Comm& comm = collective::Comm::world(&argc, &argv);
  const int rc = collective::run_guarded(comm, [&] { return run(comm, parse(argc, argv)); });
  comm.finalize();  // SMPI needs every rank's MPI_Finalize before main returns
  return rc;
}
