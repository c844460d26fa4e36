#include "sparsetrain/util/checksum.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

namespace sparsetrain::util {
namespace {

constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kP2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kP3 = 0x165667B19E3779F9ULL;

inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t round(uint64_t acc, uint64_t word) { return rotl(acc + word * kP2, 31) * kP1; }
inline uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

}  // namespace

uint64_t hash_bytes(const void* data, size_t n, uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t a = seed + kP1 + kP2, b = seed + kP2, c = seed, d = seed - kP1;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    std::memcpy(w, p + i, 32);
    a = round(a, w[0]);
    b = round(b, w[1]);
    c = round(c, w[2]);
    d = round(d, w[3]);
  }
  uint64_t h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18) + n;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = rotl(h ^ round(0, w), 27) * kP1 + kP3;
  }
  for (; i < n; ++i) h = rotl(h ^ (p[i] * kP3), 11) * kP1;
  return mix(h);
}

uint64_t checksum64(const void* data, size_t bytes) {
  constexpr size_t kBlock = 4u << 20;
  const auto* p = static_cast<const unsigned char*>(data);
  const size_t blocks = (bytes + kBlock - 1) / kBlock;
  std::vector<uint64_t> h(blocks);
#pragma omp parallel for schedule(static)
  for (long i = 0; i < static_cast<long>(blocks); ++i) {
    const size_t off = static_cast<size_t>(i) * kBlock;
    h[static_cast<size_t>(i)] = hash_bytes(p + off, std::min(kBlock, bytes - off), static_cast<uint64_t>(i));
  }
  uint64_t out = mix(bytes ^ kP3);
  for (uint64_t x : h) out = round(out, x);
  return mix(out);
}

uint64_t row_hash_sum(const void* rows, uint64_t n, size_t row_bytes, uint64_t first_global, uint64_t global_stride) {
  const auto* p = static_cast<const unsigned char*>(rows);
  uint64_t sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
  for (long i = 0; i < static_cast<long>(n); ++i) {
    const uint64_t g = first_global + static_cast<uint64_t>(i) * global_stride;
    sum += hash_bytes(p + static_cast<size_t>(i) * row_bytes, row_bytes, g * kP1);
  }
  return sum;
}

uint64_t finish_row_checksum(uint64_t sum, uint64_t global_rows, size_t row_bytes) {
  return mix(round(mix(global_rows ^ kP3) + row_bytes, sum));
}

std::string checksum_hex(uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

}  // namespace sparsetrain::util
