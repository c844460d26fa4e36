// Family selection, config validation and the HashFamily factory.
#include "sparsetrain/lsh/hash_family.h"

#include <limits>
#include <stdexcept>

namespace sparsetrain::lsh {

const char* to_string(Family family) {
  switch (family) {
    case Family::SimHash: return "simhash";
    case Family::Dwta: return "dwta";
  }
  return "?";
}

void validate(const LshConfig& c) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("LshConfig: " + what); };
  if (c.family != Family::SimHash && c.family != Family::Dwta) fail("unknown family");
  // 2^24 buckets per table is already far beyond any useful setting; the cap
  // keeps table_size * capacity from overflowing the uint32 bucket offsets.
  if (c.bits_per_table < 1 || c.bits_per_table > 24)
    fail("bits_per_table must be in [1, 24], got " + std::to_string(c.bits_per_table));
  if (c.num_tables < 1) fail("num_tables must be >= 1, got " + std::to_string(c.num_tables));
  if (c.bucket_capacity < 1) fail("bucket_capacity must be >= 1, got " + std::to_string(c.bucket_capacity));
  if (c.input_dim < 1 || c.input_dim > std::numeric_limits<uint32_t>::max())
    fail("input_dim must be in [1, 2^32), got " + std::to_string(c.input_dim));
  if (c.family == Family::Dwta && c.dwta_bin_size < 1)
    fail("dwta_bin_size must be >= 1, got " + std::to_string(c.dwta_bin_size));
}

std::unique_ptr<HashFamily> HashFamily::create(const LshConfig& config) {
  validate(config);
  switch (config.family) {
    case Family::SimHash: return std::make_unique<SimHashFamily>(config);
    case Family::Dwta: return std::make_unique<DwtaFamily>(config);
  }
  throw std::invalid_argument("LshConfig: unknown family");
}

}  // namespace sparsetrain::lsh
