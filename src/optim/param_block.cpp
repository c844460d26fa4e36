#include "sparsetrain/optim/param_block.h"

namespace sparsetrain::optim {

void ParamBlock::allocate(size_t r, size_t c, bool lazy_rows, bool bf16) {
  allocate_shard(RowShard::whole(r), c, lazy_rows, bf16);
}

void ParamBlock::allocate_shard(const RowShard& s, size_t c, bool lazy_rows, bool bf16) {
  shard = s;
  const size_t r = static_cast<size_t>(s.local_rows());
  rows = r;
  cols = c;
  lazy = lazy_rows;
  bf16_moments = bf16;
  w.assign(r * c, 0.0f);
  // The unused pair is released, not just emptied: a block re-allocated with the other
  // storage must not keep the old arrays' memory.
  if (bf16) {
    FloatArray().swap(m);
    FloatArray().swap(v);
    m16.assign(r * c, 0);  // bfloat16 +0.0
    v16.assign(r * c, 0);
  } else {
    Bf16Array().swap(m16);
    Bf16Array().swap(v16);
    m.assign(r * c, 0.0f);
    v.assign(r * c, 0.0f);
  }
  last_step.assign(r, 0);
}

}  // namespace sparsetrain::optim
