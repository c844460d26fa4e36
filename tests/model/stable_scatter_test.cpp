// stable_counting_scatter: the same output as the serial counting scatter for any
// thread count, bucket starts included, with the parallel path really taken.
#include "sparsetrain/model/stable_scatter.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "sparsetrain/util/random.h"

namespace sparsetrain::model {
namespace {

struct Result {
  std::vector<uint32_t> out, starts;
  int threads_seen = 0;
};

Result parallel_scatter(const std::vector<uint32_t>& keys, size_t buckets, int threads) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  Result r;
  r.out.assign(keys.size(), UINT32_MAX);
  std::vector<uint32_t> scratch;
  std::vector<std::atomic<int>> seen(64);
  stable_counting_scatter(
      keys.size(), buckets, [&](size_t e) { return static_cast<size_t>(keys[e]); },
      [&](size_t e, uint32_t pos) {
        r.out[pos] = static_cast<uint32_t>(e);
        seen[static_cast<size_t>(omp_get_thread_num()) % seen.size()] = 1;
      },
      &r.starts, scratch);
  for (auto& s : seen) r.threads_seen += s.load();
  omp_set_num_threads(saved);
  return r;
}

TEST(StableScatter, EqualsTheSerialLoopForAnyThreadCount) {
  util::Rng rng(3);
  for (size_t n : {size_t{0}, size_t{1}, size_t{5000}, size_t{100000}}) {
    for (size_t buckets : {size_t{1}, size_t{7}, size_t{2048}}) {
      std::vector<uint32_t> keys(n);
      for (auto& k : keys) k = static_cast<uint32_t>(rng.below(buckets));
      // The serial reference.
      std::vector<uint32_t> starts(buckets + 1, 0), out(n);
      for (uint32_t k : keys) ++starts[k + 1];
      for (size_t b = 0; b < buckets; ++b) starts[b + 1] += starts[b];
      std::vector<uint32_t> pos(starts.begin(), starts.end() - 1);
      for (size_t e = 0; e < n; ++e) out[pos[keys[e]]++] = static_cast<uint32_t>(e);
      for (int threads : {1, 2, 3, 4}) {
        SCOPED_TRACE(testing::Message() << "n=" << n << " buckets=" << buckets << " threads=" << threads);
        const Result r = parallel_scatter(keys, buckets, threads);
        EXPECT_EQ(r.out, out);
        EXPECT_EQ(r.starts, starts);
        if (n >= 100000 && threads > 1) {
          EXPECT_GT(r.threads_seen, 1) << "the parallel path must run";
        }
      }
    }
  }
}

}  // namespace
}  // namespace sparsetrain::model
