// The bulk hashes: checksum64 depends on the bytes only, and checkpoint checksums keep
// their values (files written by earlier builds must verify).
#include "sparsetrain/util/checksum.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cstdint>
#include <random>
#include <vector>

namespace sparsetrain::util {
namespace {

TEST(Checksum, DependsOnBytesOnlyNotThreads) {
  std::vector<unsigned char> data(9u << 20 | 13);  // several 4 MiB blocks plus an odd tail
  std::mt19937 rng(5);
  for (auto& c : data) c = static_cast<unsigned char>(rng());
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const uint64_t one = checksum64(data.data(), data.size());
  omp_set_num_threads(3);
  const uint64_t three = checksum64(data.data(), data.size());
  omp_set_num_threads(threads);
  EXPECT_EQ(one, three);
  for (size_t pos : {size_t{0}, size_t{4u << 20}, data.size() - 1}) {
    data[pos] ^= 1;
    EXPECT_NE(checksum64(data.data(), data.size()), one) << pos;
    data[pos] ^= 1;
  }
  EXPECT_NE(checksum64(data.data(), data.size() - 1), one);
  EXPECT_NE(checksum64(nullptr, 0), checksum64(data.data(), 1));
  EXPECT_EQ(checksum_hex(0xabcULL), "0000000000000abc");
}

// Values of the checkpoint format 3 checksums as the files hold them: a change here makes
// every earlier checkpoint and model file fail to verify.
TEST(Checksum, ValuesAreThoseInTheFiles) {
  std::vector<unsigned char> d(9u << 20 | 13);
  uint64_t x = 1;
  for (auto& c : d) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    c = static_cast<unsigned char>(x >> 56);
  }
  EXPECT_EQ(checksum_hex(checksum64(d.data(), d.size())), "8807214a3a97dd62");
  EXPECT_EQ(checksum_hex(checksum64(d.data(), 77)), "b44b0849de958683");
  EXPECT_EQ(checksum_hex(checksum64(nullptr, 0)), "34fae850ed15dab2");
  const uint64_t sum = row_hash_sum(d.data(), 10, 40, 1, 3);  // rank 1 of 3: global rows 1, 4, 7, ...
  EXPECT_EQ(checksum_hex(sum), "09b04ae4b5eaadd0");
  EXPECT_EQ(checksum_hex(finish_row_checksum(sum, 30, 40)), "e8fa976a98793fe8");
}

}  // namespace
}  // namespace sparsetrain::util
