#pragma once
// Storage of one parameter matrix and its optimizer state, plus the two gradient
// shapes the trainer produces: sparse (touched rows only) and dense.
//
// Memory per parameter: weight + Adam m + Adam v = 12 bytes, or 8 with the moments in
// bfloat16 (kernels/bf16.h; optim.moments, sparse-input table only), plus 4 bytes per ROW for
// the step at which the row was last updated (lazy Adam); for rows of 64 floats that is
// 8.06 (12.06) bytes per parameter.
#include <cstdint>
#include <string>
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
  size_t rows = 0, cols = 0;      // rows held here (all of them unless sharded)
  RowShard shard;                 // which global rows those are (allocate: all)
  bool lazy = false;              // updated row-by-row from sparse gradients
  FloatArray w;                    // rows*cols
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

// Gradient of a lazy block: row ids (sorted, unique) and their gradient rows.
struct SparseGrad {
  std::vector<uint32_t> rows;
  std::vector<float> values;  // rows.size() * cols
  size_t cols = 0;
  void clear() { rows.clear(); values.clear(); }
};

// Gradient of a dense block: all of it.
struct DenseGrad {
  std::vector<float> values;
};

}  // namespace sparsetrain::optim
