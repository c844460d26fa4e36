// Gradient exchange and Comm under a real mpirun (CTest runs this with 2 and 3 ranks).
// Every test runs the same collectives on every rank in the same order and checks
// with EXPECT (not ASSERT) before the last collective, so a failure on one rank
// cannot leave the others waiting in a collective.
#include <gtest/gtest.h>
#include <omp.h>

#include <bit>
#include <climits>
#include <cstring>
#include <random>
#include <stdexcept>

#include "../common/mpi_test_main.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/collective/gradient_exchange.h"
#include "sparsetrain/collective/replica_check.h"
#include "sparsetrain/util/hash.h"

namespace sparsetrain::collective {
namespace {

Comm& world() { return Comm::world(); }

// A sparse gradient over `rows` rows: each row touched with probability `density`.
// Dyadic values (k/64, |k| < 256) make every sum exact, so any summation order gives
// the same bits; otherwise uniform floats in [-1, 1).
optim::SparseGrad random_grad(uint64_t seed, size_t rows, size_t cols, double density, bool dyadic) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::uniform_int_distribution<int> k(-255, 255);
  optim::SparseGrad g;
  g.cols = cols;
  for (size_t r = 0; r < rows; ++r) {
    if (u(rng) >= density) continue;
    g.rows.push_back(static_cast<uint32_t>(r));
    for (size_t j = 0; j < cols; ++j)
      g.values.push_back(dyadic ? static_cast<float>(k(rng)) / 64.0f : static_cast<float>(2 * u(rng) - 1));
  }
  return g;
}

// Reference: the dense allreduce of the same gradients plus the union of rows.
optim::SparseGrad dense_reference(const optim::SparseGrad& g, size_t rows) {
  std::vector<float> full(rows * g.cols, 0.0f), touched(rows, 0.0f);
  for (size_t i = 0; i < g.rows.size(); ++i) {
    std::copy_n(&g.values[i * g.cols], g.cols, &full[g.rows[i] * g.cols]);
    touched[g.rows[i]] = 1.0f;
  }
  world().allreduce_sum(full.data(), full.size());
  world().allreduce_sum(touched.data(), touched.size());
  optim::SparseGrad out;
  out.cols = g.cols;
  for (size_t r = 0; r < rows; ++r) {
    if (touched[r] == 0.0f) continue;
    out.rows.push_back(static_cast<uint32_t>(r));
    out.values.insert(out.values.end(), &full[r * g.cols], &full[(r + 1) * g.cols]);
  }
  return out;
}

uint64_t bits_hash(const optim::SparseGrad& g) {
  uint64_t h = util::hash64(g.rows.size(), g.cols);
  for (uint32_t r : g.rows) h = util::hash64(r, h);
  for (float v : g.values) h = util::hash64(std::bit_cast<uint32_t>(v), h);
  return h;
}

// True on every rank iff `h` is the same on every rank.
bool same_on_all_ranks(uint64_t h) {
  uint64_t lo = h, hi = h;
  world().allreduce_min(&lo, 1);
  world().allreduce_max(&hi, 1);
  return lo == hi;
}

uint64_t seed_for(int test) { return util::hash64(static_cast<uint64_t>(world().rank()), test); }

TEST(Exchange, SparseEqualsDenseAllreduceExactly) {
  // Dyadic values: the sums are exact, so sparse, dense and the reference must agree bit for bit.
  const size_t rows = 500, cols = 9;
  const optim::SparseGrad g = random_grad(seed_for(1), rows, cols, 0.3, true);
  const optim::SparseGrad ref = dense_reference(g, rows);
  for (ExchangeMode mode : {ExchangeMode::Sparse, ExchangeMode::Dense, ExchangeMode::Auto}) {
    optim::SparseGrad x = g;
    GradientExchange ex(world(), mode);
    ex.combine(x, rows);
    EXPECT_EQ(x.rows, ref.rows);
    EXPECT_EQ(bits_hash(x), bits_hash(ref)) << "mode " << static_cast<int>(mode);
    EXPECT_TRUE(same_on_all_ranks(bits_hash(x)));
  }
}

TEST(Exchange, RandomFloatsMatchDenseAndAreBitwiseIdenticalOnEveryRank) {
  const size_t rows = 2000, cols = 17;
  const optim::SparseGrad g = random_grad(seed_for(2), rows, cols, 0.1, false);
  const optim::SparseGrad ref = dense_reference(g, rows);
  optim::SparseGrad x = g;
  GradientExchange ex(world(), ExchangeMode::Sparse);
  ex.combine(x, rows);
  EXPECT_EQ(x.rows, ref.rows);
  ASSERT_EQ(x.values.size(), ref.values.size());
  for (size_t i = 0; i < x.values.size(); ++i)  // at most 3 terms of |v| < 1: a few ulps of 3
    EXPECT_NEAR(x.values[i], ref.values[i], 1e-6f) << "value " << i;
  EXPECT_TRUE(same_on_all_ranks(bits_hash(x)));
}

TEST(Exchange, MergeGivesTheSameBitsForAnyThreadCount) {
  // 20,000 rows at 30% density: ~6,000 touched rows per rank, enough for the merge to
  // split its output rows over threads.
  const size_t rows = 20000, cols = 9;
  const optim::SparseGrad g = random_grad(seed_for(12), rows, cols, 0.3, false);
  const int saved = omp_get_max_threads();
  std::vector<uint64_t> hashes;
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    optim::SparseGrad x = g;
    GradientExchange ex(world(), ExchangeMode::Sparse);
    ex.combine(x, rows);
    hashes.push_back(bits_hash(x));
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(hashes[1], hashes[0]) << "2 threads";
  EXPECT_EQ(hashes[2], hashes[0]) << "3 threads";
}

TEST(Exchange, DuplicateRowsAcrossRanksAreSummedOnce) {
  // Every rank touches rows 0, 5 and 7 plus its own row 10 + rank; value = (rank+1) * (row+1).
  const int P = world().size(), me = world().rank();
  const size_t rows = 64, cols = 3;
  optim::SparseGrad g;
  g.cols = cols;
  for (uint32_t r : {0u, 5u, 7u, 10u + static_cast<uint32_t>(me)}) {
    g.rows.push_back(r);
    for (size_t j = 0; j < cols; ++j) g.values.push_back(static_cast<float>((me + 1) * (r + 1)));
  }
  GradientExchange ex(world(), ExchangeMode::Sparse);
  ex.combine(g, rows);
  std::vector<uint32_t> want = {0, 5, 7};
  for (int r = 0; r < P; ++r) want.push_back(10u + static_cast<uint32_t>(r));
  EXPECT_EQ(g.rows, want);
  const float ranks_sum = static_cast<float>(P * (P + 1) / 2);
  for (size_t i = 0; i < g.rows.size() && g.values.size() == g.rows.size() * cols; ++i) {
    const float expect = g.rows[i] < 10 ? ranks_sum * static_cast<float>(g.rows[i] + 1)
                                        : static_cast<float>((g.rows[i] - 10 + 1) * (g.rows[i] + 1));
    for (size_t j = 0; j < cols; ++j) EXPECT_EQ(g.values[i * cols + j], expect) << "row " << g.rows[i];
  }
}

TEST(Exchange, AutoPicksByTouchedRowsAndAgreesOnEveryRank) {
  const int P = world().size();
  const size_t rows = 1000, cols = 8;
  struct Case {
    double density;
    const char* what;
  };
  for (Case c : {Case{1.0, "every rank touches every row"}, Case{0.05, "5% per rank"}, Case{0.9, "90% per rank"},
                 Case{0.7, "70% per rank"}}) {
    const optim::SparseGrad g = random_grad(seed_for(4), rows, cols, c.density, true);
    uint64_t touched_all = g.rows.size();
    world().allreduce_sum(&touched_all, 1);
    // The documented rule (ring model): sparse iff sum of touched rows < 2 * rows.
    const ExchangeMode want = touched_all < 2 * rows ? ExchangeMode::Sparse : ExchangeMode::Dense;
    optim::SparseGrad x = g;
    GradientExchange ex(world(), ExchangeMode::Auto);
    ex.combine(x, rows);
    ASSERT_EQ(ex.last_decisions().size(), 1u);
    const ExchangeMode got = ex.last_decisions()[0];
    EXPECT_EQ(got, want) << c.what << ", P = " << P;
    if (c.density == 1.0) {
      EXPECT_EQ(got, ExchangeMode::Dense) << "most rows touched must go dense";
    }
    if (c.density == 0.05) {
      EXPECT_EQ(got, ExchangeMode::Sparse) << "few rows touched must go sparse";
    }
    if (c.density == 0.7 && P >= 3) {
      EXPECT_EQ(got, ExchangeMode::Dense);
    }
    EXPECT_TRUE(same_on_all_ranks(static_cast<uint64_t>(got)));
    EXPECT_EQ(bits_hash(x), bits_hash(dense_reference(g, rows))) << c.what;
  }
}

TEST(Exchange, RanksWithNothingTouched) {
  const size_t rows = 300, cols = 5;
  optim::SparseGrad g =
      world().rank() == 0 ? optim::SparseGrad{{}, {}, cols} : random_grad(seed_for(5), rows, cols, 0.2, true);
  const optim::SparseGrad ref = dense_reference(g, rows);
  GradientExchange ex(world(), ExchangeMode::Sparse);
  ex.combine(g, rows);
  EXPECT_EQ(bits_hash(g), bits_hash(ref));
  optim::SparseGrad none{{}, {}, cols};
  ex.combine(none, rows);
  EXPECT_TRUE(none.rows.empty());
  EXPECT_TRUE(none.values.empty());
}

TEST(Exchange, MixedBlocksInOneStepUseThreeCollectives) {
  const int P = world().size();
  const size_t rows = 400;
  optim::SparseGrad a = random_grad(seed_for(6), rows, 6, 0.05, true);  // auto -> sparse
  optim::SparseGrad b = random_grad(seed_for(7), 50, 4, 1.0, true);     // auto -> dense
  optim::DenseGrad d1, d2;
  for (int i = 0; i < 37; ++i) d1.values.push_back(static_cast<float>(world().rank() + i));
  d2.values.assign(5, 0.25f);
  const optim::SparseGrad ref_a = dense_reference(a, rows), ref_b = dense_reference(b, 50);
  GradientExchange ex(world(), ExchangeMode::Auto);
  ex.combine({GradSlot::of(a, rows), GradSlot::of(d1), GradSlot::of(b, 50), GradSlot::of(d2)});
  EXPECT_EQ(ex.stats().collectives, 3u) << "header allgather + one allgatherv + one allreduce";
  EXPECT_EQ(ex.last_decisions(), (std::vector<ExchangeMode>{ExchangeMode::Sparse, ExchangeMode::Dense}));
  EXPECT_EQ(bits_hash(a), bits_hash(ref_a));
  EXPECT_EQ(bits_hash(b), bits_hash(ref_b));
  const float rank_sum = static_cast<float>(P * (P - 1) / 2);
  for (int i = 0; i < 37; ++i) EXPECT_EQ(d1.values[i], rank_sum + static_cast<float>(P * i));
  for (float v : d2.values) EXPECT_EQ(v, 0.25f * static_cast<float>(P));
}

TEST(Exchange, SparseBytesOnTheWireNearPayloadAndBelowDense) {
  // An embedding-like block: 64 floats per row, 2% of 100k rows touched per rank.
  const int P = world().size();
  const size_t rows = 100000, cols = 64;
  optim::SparseGrad g = random_grad(seed_for(8), rows, cols, 0.02, false);
  const uint64_t mine = g.rows.size() * (cols + 1) * 4;
  const std::vector<uint64_t> all = world().allgather(&mine, 1);
  uint64_t total = 0;
  for (uint64_t x : all) total += x;
  GradientExchange ex(world(), ExchangeMode::Sparse);
  ex.combine(g, rows);
  const ExchangeStats& s = ex.stats();
  EXPECT_EQ(s.sparse_payload_bytes, mine);
  // Ring allgatherv: every block but the next rank's, plus the header (P-1 ranks x 2 words).
  const uint64_t header = static_cast<uint64_t>(P - 1) * 2 * 8;
  EXPECT_EQ(s.sparse_bytes_sent, total - all[static_cast<size_t>((world().rank() + 1) % P)] + header);
  // What any allgather must send per rank: (P-1)/P of everyone's payload; for P = 2 that is
  // exactly this rank's payload. The target: <= 1.1x.
  const double minimum = static_cast<double>(total) * (P - 1) / P;
  uint64_t sent_all = s.sparse_bytes_sent;
  world().allreduce_sum(&sent_all, 1);
  EXPECT_LE(static_cast<double>(sent_all) / P, 1.1 * minimum);
  if (P == 2) {
    EXPECT_LE(static_cast<double>(s.sparse_bytes_sent), 1.1 * static_cast<double>(mine));
  }
  EXPECT_LT(s.sparse_bytes_sent, s.sparse_dense_equiv_bytes);
}

TEST(Comm, SlicedCollectivesGiveTheSameBits) {
  // MPI counts are int: buffers above max_count() elements are split. Lower the limit so
  // small buffers take the sliced paths, and compare with the unsliced results.
  const size_t rows = 700, cols = 11;
  const optim::SparseGrad g = random_grad(seed_for(9), rows, cols, 0.3, false);
  optim::SparseGrad whole = g, sliced = g, whole_dense = g, sliced_dense = g;
  GradientExchange ex(world(), ExchangeMode::Sparse), exd(world(), ExchangeMode::Dense);
  ex.combine(whole, rows);
  exd.combine(whole_dense, rows);
  std::vector<float> f(1001);
  // Integers: exact sums, since MPI may pick a different reduction order per message size.
  for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(world().rank() * 1000 + i);
  std::vector<float> f_whole = f, f_sliced = f;
  world().allreduce_sum(f_whole.data(), f_whole.size());
  const std::vector<float> v_whole =
      world().allgatherv(std::vector<float>(f.begin(), f.begin() + 13 * (world().rank() + 1)));
  std::string text = world().is_root() ? std::string(100, 'x') + "end" : "";
  std::vector<double> raw(37, world().is_root() ? 0.0 : -1.0);
  if (world().is_root())
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = 0.5 * static_cast<double>(i) + 1e-9;

  world().set_max_count(7);
  const uint64_t before = world().collectives();
  ex.combine(sliced, rows);
  EXPECT_GT(world().collectives() - before, 3u) << "the sliced path must have been taken";
  exd.combine(sliced_dense, rows);
  world().allreduce_sum(f_sliced.data(), f_sliced.size());
  const std::vector<float> v_sliced =
      world().allgatherv(std::vector<float>(f.begin(), f.begin() + 13 * (world().rank() + 1)));
  world().broadcast(text);
  const uint64_t before_raw = world().collectives();
  world().broadcast_bytes(raw.data(), raw.size() * sizeof(double));  // 296 bytes in slices of 7
  EXPECT_GE(world().collectives() - before_raw, 296u / 7) << "sliced broadcast";
  Request req = world().iallreduce_sum(f.data(), f.size());
  req.wait();
  // Non-blocking allgatherv with known counts, sliced, against the blocking one unsliced.
  std::vector<uint64_t> counts;
  for (int r = 0; r < world().size(); ++r) counts.push_back(5 + 4 * static_cast<uint64_t>(r));
  std::vector<uint32_t> words(counts[static_cast<size_t>(world().rank())]);
  for (size_t i = 0; i < words.size(); ++i) words[i] = static_cast<uint32_t>(world().rank() * 100 + i);
  std::vector<uint32_t> w_sliced(5 * counts.size() + 2 * counts.size() * (counts.size() - 1)), w_whole(w_sliced);
  world().iallgatherv(words.data(), counts, w_sliced.data()).wait();
  world().set_max_count(INT_MAX);
  world().allgatherv(words.data(), counts, w_whole.data());

  EXPECT_EQ(bits_hash(sliced), bits_hash(whole));
  EXPECT_EQ(sliced_dense.rows, whole_dense.rows);
  EXPECT_EQ(std::memcmp(f_sliced.data(), f_whole.data(), f.size() * 4), 0) << "allreduce slices";
  EXPECT_EQ(std::memcmp(f.data(), f_whole.data(), f.size() * 4), 0) << "iallreduce slices";
  EXPECT_EQ(v_sliced, v_whole);
  EXPECT_EQ(w_sliced, w_whole);
  EXPECT_EQ(w_whole[5], 100u) << "rank 1's block starts after rank 0's 5 words";
  EXPECT_EQ(text, std::string(100, 'x') + "end");
  for (size_t i = 0; i < raw.size(); ++i) EXPECT_EQ(raw[i], 0.5 * static_cast<double>(i) + 1e-9) << i;
}

TEST(Comm, BroadcastBytesSizeMismatchIsAnErrorOnEveryRank) {
  std::vector<char> buf(world().is_root() ? 10 : 12);
  try {
    world().broadcast_bytes(buf.data(), buf.size());
    FAIL() << "a size mismatch must throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("expected 12"), std::string::npos) << e.what();
  }
}

TEST(Comm, PendingRequestIsCompletedByItsDestructor) {
  std::vector<float> x(100, 1.0f);
  { Request r = world().iallreduce_sum(x.data(), x.size()); }  // no wait(): RAII must complete it
  for (float v : x) EXPECT_EQ(v, static_cast<float>(world().size()));
}

TEST(Exchange, LayoutMismatchIsAnErrorOnEveryRankNotAHang) {
  // Same number of blocks, different widths on rank 1: caught by the header signature.
  const size_t cols = world().rank() == 1 ? 5 : 4;
  optim::SparseGrad g{{1, 2}, std::vector<float>(2 * cols, 1.0f), cols};
  GradientExchange ex(world(), ExchangeMode::Sparse);
  EXPECT_THROW(ex.combine(g, 10), std::runtime_error);
}

TEST(ReplicaCheck, PassesOnIdenticalStateAndNamesTheBlockThatDiffers) {
  std::vector<optim::ParamBlock> blocks(2);
  blocks[0].name = "embed";
  blocks[1].name = "fc1";
  blocks[0].allocate(100, 8, true);
  blocks[1].allocate(10, 3, false);
  for (auto& b : blocks)
    for (size_t i = 0; i < b.w.size(); ++i) b.w[i] = b.m[i] = static_cast<float>(i) * 0.5f;
  EXPECT_NO_THROW(verify_replicas(world(), blocks, 7));
  // One ulp in one Adam moment on the last rank only.
  if (world().rank() == world().size() - 1) blocks[1].m[3] = std::nextafter(blocks[1].m[3], 1e9f);
  try {
    verify_replicas(world(), blocks, 8);
    ADD_FAILURE() << "expected the replica check to fail on every rank";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("step 8"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fc1"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("embed"), std::string::npos) << e.what();
  }
}

// alltoallv: rank `from` sends rank `to` (from + 2 * to) % 5 words, each naming (from, to,
// position), so a block landing in the wrong place or cut short is seen; twice, so a
// buffer reused between calls is rewritten.
TEST(Comm, AlltoallvDeliversEveryBlockInRankOrder) {
  Comm& c = world();
  const size_t P = static_cast<size_t>(c.size()), me = static_cast<size_t>(c.rank());
  const auto words = [&](size_t from, size_t to) { return static_cast<uint64_t>((from + 2 * to) % 5); };
  const auto word = [&](size_t from, size_t to, size_t k) {
    return static_cast<uint32_t>(from * 10000 + to * 100 + k);
  };
  std::vector<uint64_t> send_counts(P), recv_counts(P);
  std::vector<uint32_t> send;
  for (size_t to = 0; to < P; ++to) {
    send_counts[to] = words(me, to);
    recv_counts[to] = words(to, me);
    for (size_t k = 0; k < send_counts[to]; ++k) send.push_back(word(me, to, k));
  }
  EXPECT_EQ(c.alltoall(send_counts.data(), 1), recv_counts);
  for (int round = 0; round < 2; ++round) {
    uint64_t total = 0;
    for (uint64_t n : recv_counts) total += n;
    std::vector<uint32_t> recv(total, 0xFFFFFFFFu);
    c.alltoallv(send.data(), send_counts, recv.data(), recv_counts);
    size_t at = 0;
    for (size_t from = 0; from < P; ++from)
      for (size_t k = 0; k < recv_counts[from]; ++k, ++at)
        EXPECT_EQ(recv[at], word(from, me, k)) << "round " << round << ", from rank " << from << ", word " << k;
  }
}

}  // namespace
}  // namespace sparsetrain::collective

int main(int argc, char** argv) { return sparsetrain::testing::run_mpi_tests(argc, argv, "exchange_mpitest"); }
