#include "sparsetrain/collective/row_merge.h"

#include <omp.h>

#include <algorithm>
#include <bit>

namespace sparsetrain::collective {

// P-way merge of the sorted per-rank id lists into g; equal rows summed in rank
// order (0 + rank 0 + rank 1 + ...), the same arithmetic on every rank, so every
// replica gets the same bits. Writes straight into g's buffers (their old contents
// were already packed): sized once for the worst case, trimmed at the end, so no
// per-row allocation or zero fill. Two passes: the merged ids (serial, 4 bytes a row),
// then the rows' sums, split over OpenMP threads by output row: each thread finds where
// its first row starts in every rank's list, and each row is summed by one thread in
// rank order, so the result is the same for any thread count.
void merge_rows(const std::vector<RankRows>& parts, size_t cols, optim::SparseGrad& g) {
  const size_t P = parts.size();
  size_t total = 0;
  for (const RankRows& p : parts) total += p.n;
  if (g.rows.size() < total) g.rows.resize(total);
  if (g.values.size() < total * cols) g.values.resize(total * cols);
  // The smallest id at the heads, if any.
  const auto next_id = [&](const std::vector<size_t>& head, uint32_t& next) {
    bool any = false;
    for (size_t r = 0; r < P; ++r)
      if (head[r] < parts[r].n && (!any || parts[r].ids[head[r]] < next)) {
        next = parts[r].ids[head[r]];
        any = true;
      }
    return any;
  };
  // Output row o = the sum of every rank's row `id` at its head, in rank order.
  const auto sum_row = [&](size_t o, uint32_t id, std::vector<size_t>& head) {
    float* dst = &g.values[o * cols];
    bool first = true;
    for (size_t r = 0; r < P; ++r) {
      if (head[r] >= parts[r].n || parts[r].ids[head[r]] != id) continue;
      const uint32_t* src = parts[r].values + head[r] * cols;
      if (first) {
        for (size_t j = 0; j < cols; ++j) dst[j] = 0.0f + std::bit_cast<float>(src[j]);
      } else {
        for (size_t j = 0; j < cols; ++j) dst[j] += std::bit_cast<float>(src[j]);
      }
      first = false;
      ++head[r];
    }
  };
  std::vector<size_t> head(P, 0);
  size_t out = 0;
  uint32_t next = 0;
  // Small merges, or one thread: one pass.
  const int threads = total >= 2048 ? omp_get_max_threads() : 1;
  if (threads == 1) {
    for (; next_id(head, next); ++out) {
      g.rows[out] = next;
      sum_row(out, next, head);
    }
  } else {
    for (; next_id(head, next); ++out) {
      g.rows[out] = next;
      for (size_t r = 0; r < P; ++r)
        if (head[r] < parts[r].n && parts[r].ids[head[r]] == next) ++head[r];
    }
#pragma omp parallel num_threads(threads)
    {
      const size_t t = static_cast<size_t>(omp_get_thread_num()), nt = static_cast<size_t>(omp_get_num_threads());
      const size_t lo = out * t / nt, hi = out * (t + 1) / nt;
      std::vector<size_t> at(P, 0);
      if (lo < hi)
        for (size_t r = 0; r < P; ++r)
          at[r] =
              static_cast<size_t>(std::lower_bound(parts[r].ids, parts[r].ids + parts[r].n, g.rows[lo]) - parts[r].ids);
      for (size_t o = lo; o < hi; ++o) sum_row(o, g.rows[o], at);
    }
  }
  g.rows.resize(out);
  g.values.resize(out * cols);
}

}  // namespace sparsetrain::collective
