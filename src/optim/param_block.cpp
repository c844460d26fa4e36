#include "sparsetrain/optim/param_block.h"

namespace sparsetrain::optim {

void ParamBlock::allocate(size_t r, size_t c, bool lazy_rows) {
  rows = r;
  cols = c;
  lazy = lazy_rows;
  w.assign(r * c, 0.0f);
  m.assign(r * c, 0.0f);
  v.assign(r * c, 0.0f);
  last_step.assign(r, 0);
}

}  // namespace sparsetrain::optim
