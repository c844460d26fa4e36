#include "sparsetrain/dist/gradient_exchange.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace sparsetrain::dist {

ExchangeMode parse_exchange_mode(const std::string& s) {
  if (s == "auto") return ExchangeMode::Auto;
  if (s == "sparse") return ExchangeMode::Sparse;
  if (s == "dense") return ExchangeMode::Dense;
  throw std::invalid_argument("dist.exchange '" + s + "' unknown; allowed: auto|sparse|dense");
}

void GradientExchange::combine(optim::SparseGrad& g, size_t total_rows) {
  if (comm_.size() == 1) return;
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t cols = g.cols;
  stats_.touched_payload_bytes += g.rows.size() * (sizeof(uint32_t) + cols * sizeof(float));
  ExchangeMode mode = mode_;
  if (mode == ExchangeMode::Auto) {
    // Bytes each rank moves: an allgather of all pairs costs every rank the others'
    // payload; a ring allreduce of the dense matrix costs about twice its size.
    const uint64_t touched_all = comm_.sum(static_cast<uint64_t>(g.rows.size()));
    const uint64_t sparse_bytes = touched_all * (sizeof(uint32_t) + cols * sizeof(float));
    const uint64_t dense_bytes = 2 * total_rows * (cols + 1) * sizeof(float);
    mode = sparse_bytes <= dense_bytes ? ExchangeMode::Sparse : ExchangeMode::Dense;
  }
  if (mode == ExchangeMode::Sparse) {
    combine_sparse(g);
    ++stats_.sparse_exchanges;
  } else {
    combine_dense(g, total_rows);
    ++stats_.dense_exchanges;
  }
  stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void GradientExchange::combine_sparse(optim::SparseGrad& g) {
  const size_t cols = g.cols;
  const uint64_t before = comm_.bytes_sent();
  // Per-rank counts come first so the merged lists can be split back into ranks.
  const std::vector<uint64_t> counts = comm_.allgatherv(std::vector<uint64_t>{g.rows.size()});
  const std::vector<uint32_t> rows = comm_.allgatherv(g.rows);
  const std::vector<float> values = comm_.allgatherv(g.values);
  stats_.bytes_sent += comm_.bytes_sent() - before;
  // P-way merge of the sorted per-rank lists; equal rows summed in rank order.
  const size_t P = counts.size();
  std::vector<size_t> pos(P), end(P);
  size_t offset = 0;
  for (size_t r = 0; r < P; ++r) {
    pos[r] = offset;
    offset += counts[r];
    end[r] = offset;
  }
  g.rows.clear();
  g.values.clear();
  for (;;) {
    uint32_t next = UINT32_MAX;
    bool any = false;
    for (size_t r = 0; r < P; ++r)
      if (pos[r] < end[r] && (!any || rows[pos[r]] < next)) {
        next = rows[pos[r]];
        any = true;
      }
    if (!any) break;
    g.rows.push_back(next);
    const size_t base = g.values.size();
    g.values.resize(base + cols, 0.0f);
    for (size_t r = 0; r < P; ++r) {
      if (pos[r] < end[r] && rows[pos[r]] == next) {
        const float* src = &values[pos[r] * cols];
        for (size_t j = 0; j < cols; ++j) g.values[base + j] += src[j];
        ++pos[r];
      }
    }
  }
}

void GradientExchange::combine_dense(optim::SparseGrad& g, size_t total_rows) {
  const size_t cols = g.cols;
  // One buffer: the matrix, then one "touched" count per row.
  std::vector<float> full(total_rows * cols + total_rows, 0.0f);
  for (size_t i = 0; i < g.rows.size(); ++i) {
    std::copy_n(&g.values[i * cols], cols, &full[static_cast<size_t>(g.rows[i]) * cols]);
    full[total_rows * cols + g.rows[i]] = 1.0f;
  }
  const uint64_t before = comm_.bytes_sent();
  comm_.allreduce_sum(full.data(), full.size());
  stats_.bytes_sent += comm_.bytes_sent() - before;
  g.rows.clear();
  g.values.clear();
  for (size_t r = 0; r < total_rows; ++r) {
    if (full[total_rows * cols + r] == 0.0f) continue;
    g.rows.push_back(static_cast<uint32_t>(r));
    g.values.insert(g.values.end(), &full[r * cols], &full[r * cols] + cols);
  }
}

void GradientExchange::combine(optim::DenseGrad& g) {
  if (comm_.size() == 1) return;
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t before = comm_.bytes_sent();
  comm_.allreduce_sum(g.values.data(), g.values.size());
  stats_.bytes_sent += comm_.bytes_sent() - before;
  ++stats_.dense_exchanges;
  stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace sparsetrain::dist
