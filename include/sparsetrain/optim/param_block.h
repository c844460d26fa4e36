#pragma once
// Storage of one parameter matrix and its optimizer state, plus the two gradient
// shapes the trainer produces: sparse (touched rows only) and dense.
//
// Memory per parameter: weight + Adam m + Adam v = 12 bytes, or 8 with the moments in
// bfloat16 (kernels/bf16.h; optim.moments, sparse-input table only), plus 4 bytes per ROW for
// the step at which the row was last updated (lazy Adam); for rows of 64 floats that is
// 8.06 (12.06) bytes per parameter.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "sparsetrain/optim/row_shard.h"
#include "sparsetrain/util/huge_page_allocator.h"

namespace sparsetrain::optim {

// Weights and moments of the big tables are read and written a few random rows at a
// time: they live in 2 MiB pages where the kernel allows (see huge_page_allocator.h).
using FloatArray = std::vector<float, util::HugePageAllocator<float>>;
using Bf16Array = std::vector<uint16_t, util::HugePageAllocator<uint16_t>>;  // bfloat16 bit patterns

struct ParamBlock {
  std::string name;
  size_t rows = 0, cols = 0;  // rows held here (all of them unless sharded)
  RowShard shard;             // which global rows those are (allocate: all)
  bool lazy = false;          // updated row-by-row from sparse gradients
  FloatArray w;               // rows*cols
  // Adam's moments, rows*cols each: in m, v (float32), or in m16, v16 (bfloat16) when
  // bf16_moments; the other pair is empty.
  bool bf16_moments = false;
  FloatArray m, v;
  Bf16Array m16, v16;
  std::vector<uint32_t> last_step;  // per row: global step of the last update (0 = never)

  void allocate(size_t r, size_t c, bool lazy_rows, bool bf16 = false);
  // Holds only the rows `shard` gives this rank (shard.local_rows() of them).
  void allocate_shard(const RowShard& shard, size_t c, bool lazy_rows, bool bf16 = false);
  size_t global_rows() const { return shard.global_rows; }
  size_t size() const { return rows * cols; }
  float* row(size_t r) { return w.data() + r * cols; }
  const float* row(size_t r) const { return w.data() + r * cols; }
};

// --- a block's arrays --------------------------------------------------------------
// What stores, sends or compares a block's state walks its arrays through block_arrays(),
// the one list of them, in this order: w, m, v, last_step. That is the order and the
// names of a checkpoint's datasets /params/<block>/<name> (checkpoint.h), the resume
// broadcast's order, and what the replica check hashes. m and v are in the block's
// moment storage: float32 (the members m, v) or, with bf16_moments, bfloat16 (m16, v16)
// under the same names; the pair not in use is empty and not listed. Header-only: the
// collective module uses it without linking optim.
enum class ElemType { Float32, Bfloat16, Uint32 };  // float, bfloat16 bit pattern (uint16_t), uint32_t

template <typename Void>  // void, or const void for a const block
struct BlockArrayOf {
  const char* name;  // "w", "m", "v" or "last_step"
  ElemType type;
  size_t elem_bytes;  // 4, 2 or 4
  Void* data;
  size_t size;  // elements: rows * row_elems()
  size_t cols;  // elements per row of a [rows x cols] array; 0: one per row, a 1-D [rows] array (last_step)
  size_t row_elems() const { return cols ? cols : 1; }
  size_t row_bytes() const { return elem_bytes * row_elems(); }
  size_t bytes() const { return elem_bytes * size; }
};
using BlockArray = BlockArrayOf<void>;
using ConstBlockArray = BlockArrayOf<const void>;

namespace detail {
template <typename Block>  // ParamBlock or const ParamBlock
auto block_arrays(Block& b) {
  using A = BlockArrayOf<std::conditional_t<std::is_const_v<Block>, const void, void>>;
  const auto moment = [&](const char* name, auto& f32, auto& b16) {
    return b.bf16_moments ? A{name, ElemType::Bfloat16, sizeof(uint16_t), b16.data(), b16.size(), b.cols}
                          : A{name, ElemType::Float32, sizeof(float), f32.data(), f32.size(), b.cols};
  };
  auto& steps = b.last_step;
  return std::array<A, 4>{A{"w", ElemType::Float32, sizeof(float), b.w.data(), b.w.size(), b.cols},
                          moment("m", b.m, b.m16), moment("v", b.v, b.v16),
                          A{"last_step", ElemType::Uint32, sizeof(uint32_t), steps.data(), steps.size(), 0}};
}
}  // namespace detail

inline std::array<BlockArray, 4> block_arrays(ParamBlock& b) { return detail::block_arrays(b); }
inline std::array<ConstBlockArray, 4> block_arrays(const ParamBlock& b) { return detail::block_arrays(b); }

// Gradient of a lazy block: row ids (sorted, unique) and their gradient rows.
struct SparseGrad {
  std::vector<uint32_t> rows;
  std::vector<float> values;  // rows.size() * cols
  size_t cols = 0;
  void clear() {
    rows.clear();
    values.clear();
  }
};

// Gradient of a dense block: all of it.
struct DenseGrad {
  std::vector<float> values;
};

}  // namespace sparsetrain::optim
