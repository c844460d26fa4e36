#pragma once
// Summing gradient rows that several ranks sent for the same row ids: the replicated
// exchange merges every rank's touched rows, a sharded table's owner merges the rows
// sent to it. Both must give the same bits for a row, so there is one merge.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sparsetrain/optim/param_block.h"

namespace sparsetrain::collective {

// One rank's part: n sorted, unique ids, then n rows of `cols` floats (as bits).
struct RankRows {
  const uint32_t* ids = nullptr;
  const uint32_t* values = nullptr;  // float bits
  size_t n = 0;
};

// P-way merge of the parts (in rank order) into g: the sorted union of the ids, each row
// the sum of the ranks' rows in rank order (0 + rank 0 + rank 1 + ...), so the bits do
// not depend on the thread count or on which rank merges.
void merge_rows(const std::vector<RankRows>& parts, size_t cols, optim::SparseGrad& g);

}  // namespace sparsetrain::collective
