#pragma once
// Locality-sensitive hash families used to pick the active neurons of a layer
// (SLIDE / ThirdAI BOLT style). A family maps a dense vector of `input_dim`
// floats to L = num_tables codes, one per hash table.
//
// Table size: every code of both families lies in [0, 2^K) with
// K = bits_per_table, so each table has exactly 2^K buckets.
//
//  * SimHash: K sparse signed random projections per table; bit k of a code is
//    the sign of the k-th projection (1 when > 0). Each hyperplane touches
//    max(1, input_dim / 3) distinct random coordinates with random +-1 signs.
//  * DWTA (densified winner-take-all, Chen & Shrivastava 2018): K bins per
//    table, each bin looks at `dwta_bin_size` distinct random coordinates and
//    reports the position of its largest value. The K winners of a table are
//    mixed (fmix64) and the top K bits of the mix are the code, so DWTA also
//    has 2^K buckets per table. A bin whose coordinates are all exactly zero
//    is "empty" and is densified by borrowing the winner of another bin found
//    by a deterministic probe sequence (see dwta.cpp).
//
// Both families are fully reproducible from (config, seed), and hash() is
// const and allocation-free, so it may be called concurrently.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sparsetrain::lsh {

enum class Family { SimHash, Dwta };

const char* to_string(Family family);

struct LshConfig {
  Family family = Family::SimHash;
  int bits_per_table = 6;     // K: codes are in [0, 2^K); 1..24
  int num_tables = 16;        // L
  int bucket_capacity = 128;  // fixed-capacity buckets (reservoir-sampled when full)
  size_t input_dim = 0;       // dimension of the hashed vectors (weight rows and layer inputs)
  uint64_t seed = 0;
  int dwta_bin_size = 8;  // DWTA only: coordinates per bin (clamped to input_dim)
};

// Throws std::invalid_argument when a field is out of range.
void validate(const LshConfig& config);

// Number of buckets of each table: 2^K.
inline size_t table_size(const LshConfig& config) { return size_t{1} << config.bits_per_table; }

class HashFamily {
 public:
  virtual ~HashFamily() = default;
  // Writes num_tables codes, each < table_size(config()).
  virtual void hash(const float* x, uint32_t* codes) const = 0;

  const LshConfig& config() const { return config_; }

  // Validates the config and builds the family it names.
  static std::unique_ptr<HashFamily> create(const LshConfig& config);

 protected:
  explicit HashFamily(const LshConfig& config) : config_(config) {}
  LshConfig config_;
};

// Sparse signed random projections. Hyperplane p = t*K + k (table t, bit k)
// has its "+1" coordinates in indices_[begin_[p] .. split_[p]) and its "-1"
// coordinates in indices_[split_[p] .. begin_[p+1]), each list sorted, so the
// projection is a sum minus a sum with no multiplications.
class SimHashFamily final : public HashFamily {
 public:
  explicit SimHashFamily(const LshConfig& config);
  void hash(const float* x, uint32_t* codes) const override;

  size_t num_planes() const { return split_.size(); }
  // Coordinates touched by hyperplane p (both signs).
  size_t plane_nnz(size_t p) const { return begin_[p + 1] - begin_[p]; }
  // Hyperplane p's coordinates of weight +1 and of weight -1: what hash() projects onto.
  std::span<const uint32_t> plane_plus(size_t p) const { return {indices_.data() + begin_[p], split_[p] - begin_[p]}; }
  std::span<const uint32_t> plane_minus(size_t p) const {
    return {indices_.data() + split_[p], begin_[p + 1] - split_[p]};
  }

 private:
  std::vector<uint32_t> indices_;
  std::vector<uint32_t> begin_;  // num_planes + 1 offsets
  std::vector<uint32_t> split_;  // num_planes offsets: end of the "+1" part
  // The same planes as a dense [num_planes x input_dim] matrix of {-1, 0, +1}, kept
  // when input_dim <= kMaxDenseDim so hash() can use the SIMD dot kernel.
  static constexpr size_t kMaxDenseDim = 4096;
  std::vector<float> dense_;
  std::vector<uint32_t> plane_rows_;  // 0, 1, ..., K*L-1: every row of dense_, for dot_rows
};

// Densified winner-take-all. Bin b = t*K + k owns coordinates
// coords_[b*bin_size .. (b+1)*bin_size).
class DwtaFamily final : public HashFamily {
 public:
  explicit DwtaFamily(const LshConfig& config);
  void hash(const float* x, uint32_t* codes) const override;

  size_t bin_size() const { return bin_size_; }

 private:
  // Position of the max within bin b, or kEmpty when all its values are zero.
  uint32_t winner(const float* x, size_t b) const;

  static constexpr uint32_t kEmpty = 0xffffffffu;
  size_t bin_size_ = 0;
  size_t num_bins_ = 0;
  uint64_t probe_seed_ = 0;
  std::vector<uint32_t> coords_;
};

}  // namespace sparsetrain::lsh
