// Unit tests of NeuronIndex: recall, determinism, output contract, reservoir
// buckets, allocation-free queries, and a timing printout.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "sparsetrain/lsh/neuron_index.h"
#include "sparsetrain/util/random.h"

// Heap allocation counter, defined in alloc_counter_test.cpp.
namespace sparsetrain::lsh::testing {
extern std::atomic<long> allocations;
}  // namespace sparsetrain::lsh::testing

namespace sparsetrain::lsh {
namespace {

LshConfig make_config(Family f, int K, int L, int cap, size_t d, uint64_t seed) {
  LshConfig c;
  c.family = f;
  c.bits_per_table = K;
  c.num_tables = L;
  c.bucket_capacity = cap;
  c.input_dim = d;
  c.seed = seed;
  return c;
}

std::vector<float> gaussian_rows(size_t n, size_t d, uint64_t seed) {
  util::Rng rng(seed);
  std::vector<float> w(n * d);
  for (auto& x : w) x = static_cast<float>(rng.normal());
  return w;
}

std::vector<uint32_t> run_query(const NeuronIndex& index, const float* x, size_t target, uint64_t rng_seed) {
  util::Rng rng(rng_seed);
  auto scratch = index.make_scratch();
  std::vector<uint32_t> out;
  index.query(x, target, rng, scratch, out);
  return out;
}

bool has_duplicates(std::vector<uint32_t> v) {
  std::sort(v.begin(), v.end());
  return std::adjacent_find(v.begin(), v.end()) != v.end();
}

// Fraction of planted neurons found in the top `target` when querying with
// their own weights plus Gaussian noise of standard deviation `noise`.
double planted_recall(Family f, double noise) {
  const size_t N = 1000, d = 128, target = 50;
  const auto w = gaussian_rows(N, d, 100);
  NeuronIndex index(make_config(f, 6, 16, 128, d, 2024), N);
  index.rebuild(w.data(), d);
  util::Rng noise_rng(101), rng(102);
  auto scratch = index.make_scratch();
  std::vector<uint32_t> out;
  std::vector<float> q(d);
  int found = 0, trials = 0;
  for (size_t n = 3; n < N; n += 5) {  // 200 planted neurons, including 123
    for (size_t i = 0; i < d; ++i) q[i] = w[n * d + i] + static_cast<float>(noise * noise_rng.normal());
    out.clear();
    index.query(q.data(), target, rng, scratch, out);
    EXPECT_EQ(out.size(), target);
    found += std::find(out.begin(), out.end(), static_cast<uint32_t>(n)) != out.end();
    ++trials;
  }
  return static_cast<double>(found) / trials;
}

class IndexFamilyTest : public ::testing::TestWithParam<Family> {};

TEST_P(IndexFamilyTest, FindsPlantedNeuron) {
  const size_t N = 1000, d = 128;
  const auto w = gaussian_rows(N, d, 100);
  NeuronIndex index(make_config(GetParam(), 6, 16, 128, d, 2024), N);
  index.rebuild(w.data(), d);
  // Exact copy of neuron 123: it sits in all 16 of the query's buckets, so it
  // must rank first.
  const auto out = run_query(index, w.data() + 123 * d, 50, 1);
  ASSERT_EQ(out.size(), 50u);
  EXPECT_EQ(out[0], 123u);

  const double exact = planted_recall(GetParam(), 0.0);
  const double noisy = planted_recall(GetParam(), 0.1);    // ~10% relative perturbation
  const double noisier = planted_recall(GetParam(), 0.3);  // reported only
  std::printf("[ recall   ] %s K=6 L=16 target=50/1000: exact %.3f, noise 0.1 %.3f, noise 0.3 %.3f\n",
              to_string(GetParam()), exact, noisy, noisier);
  EXPECT_GE(exact, 0.99);
  EXPECT_GE(noisy, 0.95);
}

TEST_P(IndexFamilyTest, SameSeedSameResultsDifferentSeedDiffers) {
  const size_t N = 600, d = 64;
  const auto w = gaussian_rows(N, d, 200);
  NeuronIndex a(make_config(GetParam(), 5, 8, 16, d, 7), N);
  NeuronIndex b(make_config(GetParam(), 5, 8, 16, d, 7), N);
  NeuronIndex c(make_config(GetParam(), 5, 8, 16, d, 8), N);
  a.rebuild(w.data(), d);
  b.rebuild(w.data(), d);
  c.rebuild(w.data(), d);
  const auto queries = gaussian_rows(20, d, 201);
  int differing = 0;
  for (size_t i = 0; i < 20; ++i) {
    const auto ra = run_query(a, queries.data() + i * d, 40, i);
    EXPECT_EQ(ra, run_query(b, queries.data() + i * d, 40, i));
    differing += ra != run_query(c, queries.data() + i * d, 40, i);
  }
  EXPECT_GE(differing, 15);
}

TEST_P(IndexFamilyTest, RebuildIndependentOfThreadCount) {
  const size_t N = 2048, d = 96, stride = 100;  // padded rows
  const auto w = gaussian_rows(N, stride, 300);
  const LshConfig cfg = make_config(GetParam(), 4, 12, 16, d, 9);  // buckets overflow
  NeuronIndex one(cfg, N), two(cfg, N);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  one.rebuild(w.data(), stride);
  omp_set_num_threads(2);
  two.rebuild(w.data(), stride);
  omp_set_num_threads(saved);
  bool overflowed = false;
  for (size_t t = 0; t < 12; ++t) {
    for (size_t b = 0; b < one.table_size(); ++b) {
      const auto x = one.bucket(t, b), y = two.bucket(t, b);
      ASSERT_TRUE(std::equal(x.begin(), x.end(), y.begin(), y.end())) << t << "/" << b;
      overflowed |= one.bucket_offered(t, b) > 16;
    }
  }
  EXPECT_TRUE(overflowed);  // the reservoir path was exercised
  const auto q = gaussian_rows(1, d, 301);
  EXPECT_EQ(run_query(one, q.data(), 64, 5), run_query(two, q.data(), 64, 5));
}

INSTANTIATE_TEST_SUITE_P(Families, IndexFamilyTest, ::testing::Values(Family::SimHash, Family::Dwta),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(NeuronIndexTest, OutputIsDistinctRankedAndSized) {
  const size_t N = 300, d = 32;
  const auto w = gaussian_rows(N, d, 400);
  const LshConfig cfg = make_config(Family::SimHash, 3, 6, 32, d, 11);
  NeuronIndex index(cfg, N);
  index.rebuild(w.data(), d);
  const auto queries = gaussian_rows(10, d, 401);
  util::Rng rng(3);
  auto scratch = index.make_scratch();
  std::vector<uint32_t> codes(6);
  for (size_t i = 0; i < 10; ++i) {
    const float* q = queries.data() + i * d;
    // Co-occurrence counts recomputed from the public bucket view.
    index.family().hash(q, codes.data());
    std::vector<int> count(N, 0);
    for (size_t t = 0; t < 6; ++t)
      for (uint32_t id : index.bucket(t, codes[t])) ++count[id];
    const size_t found = static_cast<size_t>(std::count_if(count.begin(), count.end(), [](int c) { return c > 0; }));
    // The reference ranking: distinct hits in first-seen (table, bucket position) order,
    // stably sorted by count, descending.
    std::vector<uint32_t> reference;
    std::vector<bool> listed(N, false);
    for (size_t t = 0; t < 6; ++t)
      for (uint32_t id : index.bucket(t, codes[t]))
        if (!listed[id]) {
          listed[id] = true;
          reference.push_back(id);
        }
    std::stable_sort(reference.begin(), reference.end(), [&](uint32_t a, uint32_t b) { return count[a] > count[b]; });
    ASSERT_EQ(reference.size(), found);
    for (size_t target : {0ul, 1ul, 10ul, found, found + 7, N - 1, N, N + 50}) {
      std::vector<uint32_t> out = {999999};  // query appends
      index.query(q, target, rng, scratch, out);
      ASSERT_EQ(out.size(), 1 + std::min(target, N)) << "target " << target;
      EXPECT_EQ(out[0], 999999u);
      out.erase(out.begin());
      EXPECT_FALSE(has_duplicates(out));
      for (uint32_t id : out) EXPECT_LT(id, N);
      // Hash hits first, by non-increasing count, then the random top-up.
      const size_t hits = std::min(target, found);
      EXPECT_TRUE(std::equal(out.begin(), out.begin() + static_cast<ptrdiff_t>(hits), reference.begin()))
          << "hits must be the head of the stable ranking, target " << target;
      for (size_t k = 0; k < out.size(); ++k) {
        if (k < hits) {
          EXPECT_GT(count[out[k]], 0);
          if (k > 0) {
            EXPECT_GE(count[out[k - 1]], count[out[k]]);
          }
        } else {
          EXPECT_EQ(count[out[k]], 0);
        }
      }
      if (target >= found) {  // every hash hit is included
        for (size_t n = 0; n < N; ++n)
          if (count[n] > 0) {
            EXPECT_NE(std::find(out.begin(), out.end(), n), out.end());
          }
      }
    }
  }
}

TEST(NeuronIndexTest, TopUpFromEmptyTablesIsUniform) {
  // Never rebuilt: every bucket is empty, so all ids come from the top-up.
  const size_t N = 100;
  NeuronIndex index(make_config(Family::Dwta, 4, 4, 8, 16, 1), N);
  std::vector<float> x(16, 1.f);
  util::Rng rng(17);
  QueryScratch scratch;                 // default-constructed scratch is sized on first use
  for (size_t target : {10ul, 80ul}) {  // rejection path, then the dense pool path
    std::vector<int> hits(N, 0);
    const int queries = 4000;
    std::vector<uint32_t> out;
    for (int i = 0; i < queries; ++i) {
      out.clear();
      index.query(x.data(), target, rng, scratch, out);
      ASSERT_EQ(out.size(), target);
      ASSERT_FALSE(has_duplicates(out));
      for (uint32_t id : out) ++hits[id];
    }
    const double expected = static_cast<double>(queries) * target / N;
    for (size_t n = 0; n < N; ++n) {
      EXPECT_GT(hits[n], 0.8 * expected) << "neuron " << n << " target " << target;
      EXPECT_LT(hits[n], 1.2 * expected) << "neuron " << n << " target " << target;
    }
  }
}

TEST(NeuronIndexTest, SparseTablesAreToppedUp) {
  // Capacity 1: at most L ids can come from the tables.
  const size_t N = 500, d = 32;
  const auto w = gaussian_rows(N, d, 500);
  NeuronIndex index(make_config(Family::SimHash, 2, 3, 1, d, 12), N);
  index.rebuild(w.data(), d);
  for (size_t t = 0; t < 3; ++t)
    for (size_t b = 0; b < 4; ++b) EXPECT_LE(index.bucket(t, b).size(), 1u);
  const auto out = run_query(index, w.data(), 200, 4);
  EXPECT_EQ(out.size(), 200u);
  EXPECT_FALSE(has_duplicates(out));
}

TEST(NeuronIndexTest, ReservoirKeepsUniformSample) {
  // Identical rows all hash to one bucket per table, so each table keeps a
  // reservoir sample of `cap` of the N neurons. Over many seeds every decile of
  // neuron ids must be kept about equally often (early inserts not favoured).
  const size_t N = 1000, d = 16, L = 4, cap = 8;
  std::vector<float> w(N * d);
  util::Rng rng(600);
  std::vector<float> row(d);
  for (auto& x : row) x = static_cast<float>(rng.normal());
  for (size_t n = 0; n < N; ++n) std::copy(row.begin(), row.end(), w.begin() + n * d);

  std::vector<int> deciles(10, 0);
  const int seeds = 200;
  for (int s = 0; s < seeds; ++s) {
    NeuronIndex index(make_config(Family::SimHash, 3, L, cap, d, s), N);
    index.rebuild(w.data(), d);
    for (size_t t = 0; t < L; ++t) {
      size_t nonempty = 0;
      for (size_t b = 0; b < index.table_size(); ++b) {
        const auto ids = index.bucket(t, b);
        ASSERT_LE(ids.size(), cap);
        if (index.bucket_offered(t, b) == 0) continue;
        ++nonempty;
        ASSERT_EQ(index.bucket_offered(t, b), N);
        ASSERT_EQ(ids.size(), cap);
        std::vector<uint32_t> v(ids.begin(), ids.end());
        ASSERT_FALSE(has_duplicates(v));
        for (uint32_t id : ids) ++deciles[id * 10 / N];
      }
      ASSERT_EQ(nonempty, 1u);
    }
  }
  const double expected = static_cast<double>(seeds) * L * cap / 10;  // 640, sd ~24
  for (int k = 0; k < 10; ++k) {
    EXPECT_GT(deciles[k], 0.8 * expected) << "decile " << k;
    EXPECT_LT(deciles[k], 1.2 * expected) << "decile " << k;
  }
}

TEST(NeuronIndexTest, ConcurrentQueriesMatchSerial) {
  const size_t N = 2000, d = 64, Q = 64;
  const auto w = gaussian_rows(N, d, 700);
  NeuronIndex index(make_config(Family::Dwta, 6, 16, 32, d, 13), N);
  index.rebuild(w.data(), d);
  const auto queries = gaussian_rows(Q, d, 701);
  std::vector<std::vector<uint32_t>> serial(Q), parallel(Q);
  for (size_t i = 0; i < Q; ++i) serial[i] = run_query(index, queries.data() + i * d, 100, i);
#pragma omp parallel num_threads(2)
  {
    auto scratch = index.make_scratch();
#pragma omp for schedule(dynamic)
    for (int64_t i = 0; i < static_cast<int64_t>(Q); ++i) {
      util::Rng rng(static_cast<uint64_t>(i));
      index.query(queries.data() + i * d, 100, rng, scratch, parallel[i]);
    }
  }
  EXPECT_EQ(serial, parallel);
}

TEST(NeuronIndexTest, ScratchOfASmallerIndexIsRemade) {
  // A scratch sized for another index (same neurons and tables, smaller buckets) is
  // too small for this one's candidates: the query must remake it, not overrun it.
  const size_t N = 500, d = 32;
  const auto w = gaussian_rows(N, d, 800);
  NeuronIndex small(make_config(Family::SimHash, 2, 4, 4, d, 21), N);
  NeuronIndex large(make_config(Family::SimHash, 2, 4, 256, d, 21), N);
  small.rebuild(w.data(), d);
  large.rebuild(w.data(), d);
  const auto queries = gaussian_rows(8, d, 801);
  auto scratch = small.make_scratch();
  for (size_t i = 0; i < 8; ++i) {
    const float* q = queries.data() + i * d;
    std::vector<uint32_t> out;
    util::Rng rng(i);
    large.query(q, 300, rng, scratch, out);
    EXPECT_EQ(out, run_query(large, q, 300, i)) << "query " << i;
  }
}

TEST(NeuronIndexTest, EpochWrapAfter2To32QueriesForgetsOldMarks) {
  // A scratch's marks are stamped with a per-query epoch and never cleared, except when the
  // 32-bit epoch wraps (every 2^32 queries: hours of a long run). Then marks left from epoch 1
  // must not count as seen by the new epoch 1: the query must equal one on a fresh scratch.
  const size_t N = 500, d = 32;
  const auto w = gaussian_rows(N, d, 810);
  NeuronIndex index(make_config(Family::SimHash, 4, 8, 64, d, 22), N);
  index.rebuild(w.data(), d);
  const auto queries = gaussian_rows(2, d, 811);
  auto scratch = index.make_scratch();
  std::vector<uint32_t> first, wrapped;
  util::Rng rng0(0);
  index.query(queries.data(), 100, rng0, scratch, first);  // stamps 100 marks with epoch 1
  ASSERT_EQ(scratch.epoch, 1u);
  scratch.epoch = std::numeric_limits<uint32_t>::max();  // the next query wraps to 0, then 1
  util::Rng rng1(1);
  index.query(queries.data() + d, 100, rng1, scratch, wrapped);
  EXPECT_EQ(scratch.epoch, 1u);
  EXPECT_EQ(wrapped, run_query(index, queries.data() + d, 100, 1));
}

TEST(NeuronIndexTest, WarmQueriesDoNotAllocate) {
  const size_t N = 1000, d = 64;
  const auto w = gaussian_rows(N, d, 800);
  for (Family f : {Family::SimHash, Family::Dwta}) {
    NeuronIndex index(make_config(f, 6, 16, 8, d, 14), N);
    index.rebuild(w.data(), d);
    const auto queries = gaussian_rows(50, d, 801);
    util::Rng rng(1);
    auto scratch = index.make_scratch();
    std::vector<uint32_t> out;
    out.reserve(N);
    index.query(queries.data(), 900, rng, scratch, out);  // warm-up (dense top-up pool)
    const long before = testing::allocations.load();
    for (size_t i = 0; i < 50; ++i) {
      for (size_t target : {10ul, 100ul, 900ul}) {
        out.clear();
        index.query(queries.data() + i * d, target, rng, scratch, out);
      }
    }
    EXPECT_EQ(testing::allocations.load() - before, 0) << to_string(f);
  }
}

TEST(NeuronIndexTest, MicrobenchmarkRebuildAndQuery) {
  // Not an assertion: prints timings for the integrator (Release build).
  const size_t N = 2048, d = 256;
  const auto w = gaussian_rows(N, d, 900);
  const auto queries = gaussian_rows(256, d, 901);
  for (Family f : {Family::SimHash, Family::Dwta}) {
    NeuronIndex index(make_config(f, 6, 16, 128, d, 15), N);
    using clock = std::chrono::steady_clock;
    index.rebuild(w.data(), d);  // warm-up (first-touch of the buffers)
    const int reps = 10;
    auto t0 = clock::now();
    for (int r = 0; r < reps; ++r) index.rebuild(w.data(), d);
    const double rebuild_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count() / reps;

    util::Rng rng(2);
    auto scratch = index.make_scratch();
    std::vector<uint32_t> out;
    out.reserve(N);
    const int qreps = 20;
    t0 = clock::now();
    for (int r = 0; r < qreps; ++r)
      for (size_t i = 0; i < 256; ++i) {
        out.clear();
        index.query(queries.data() + i * d, 128, rng, scratch, out);
      }
    const double query_us = std::chrono::duration<double, std::micro>(clock::now() - t0).count() / (qreps * 256);
    std::vector<uint32_t> codes(16);
    t0 = clock::now();
    for (int r = 0; r < qreps; ++r)
      for (size_t i = 0; i < 256; ++i) index.family().hash(queries.data() + i * d, codes.data());
    const double hash_us = std::chrono::duration<double, std::micro>(clock::now() - t0).count() / (qreps * 256);
    std::printf(
        "[ bench    ] %s N=%zu d=%zu K=6 L=16 cap=128 (%d threads): rebuild %.2f ms, "
        "query(target 128) %.2f us (hash alone %.2f us), tables %.1f KiB\n",
        to_string(f), N, d, omp_get_max_threads(), rebuild_ms, query_us, hash_us, index.memory_bytes() / 1024.0);
  }
}

}  // namespace
}  // namespace sparsetrain::lsh
