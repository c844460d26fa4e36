#include "sparsetrain/collective/gradient_exchange.h"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <stdexcept>

#include "sparsetrain/collective/row_merge.h"
#include "sparsetrain/util/cpu_time.h"
#include "sparsetrain/util/hash.h"

namespace sparsetrain::collective {
namespace {

constexpr uint64_t kWord = sizeof(uint32_t);  // ids and float values are both one 32-bit word

uint64_t ring_allreduce_bytes(uint64_t n, int P) { return (2 * (P - 1) * n + P - 1) / P; }

// Identifies the block list (kind and shape of every slot): ranks that disagree
// would otherwise exchange mismatched buffers, which MPI does not detect.
uint64_t layout_signature(const std::vector<GradSlot>& slots) {
  uint64_t h = util::hash64(slots.size(), 0x5107);
  for (const GradSlot& s : slots) {
    const uint64_t shape =
        s.sparse ? (static_cast<uint64_t>(s.total_rows) << 20) ^ s.sparse->cols : (s.dense->values.size() << 1) | 1;
    h = util::hash64(shape, h);
  }
  return h;
}

void check_sparse(const optim::SparseGrad& g, size_t total_rows, size_t slot, int rank) {
  const std::string where = "rank " + std::to_string(rank) + ": gradient exchange, block " + std::to_string(slot);
  if (g.cols == 0) throw std::logic_error(where + ": sparse gradient has cols = 0");
  if (g.values.size() != g.rows.size() * g.cols)
    throw std::logic_error(where + ": " + std::to_string(g.values.size()) + " values for " +
                           std::to_string(g.rows.size()) + " rows of " + std::to_string(g.cols));
  for (size_t i = 0; i < g.rows.size(); ++i) {
    if (g.rows[i] >= total_rows || (i > 0 && g.rows[i] <= g.rows[i - 1]))
      throw std::logic_error(where + ": row ids must be sorted, unique and < " + std::to_string(total_rows));
  }
}

// A sparse slot that went dense: the summed matrix followed by per-row touch counts;
// keep the rows some rank touched (lazy Adam must update the same rows either way).
void unpack_dense_rows(const float* full, size_t rows, size_t cols, optim::SparseGrad& g) {
  const float* touched = full + rows * cols;
  g.rows.clear();
  g.values.clear();
  for (size_t r = 0; r < rows; ++r) {
    if (touched[r] == 0.0f) continue;
    g.rows.push_back(static_cast<uint32_t>(r));
    g.values.insert(g.values.end(), full + r * cols, full + (r + 1) * cols);
  }
}

}  // namespace

ExchangeMode choose_mode(ExchangeMode mode, uint64_t touched_all_ranks, uint64_t total_rows) {
  if (mode != ExchangeMode::Auto) return mode;
  // Per rank, ring model: sparse (P-1)/P * touched_all * (cols+1) words against
  // dense 2(P-1)/P * rows * (cols+1) words (the +1: row id / touched count).
  return touched_all_ranks < 2 * total_rows ? ExchangeMode::Sparse : ExchangeMode::Dense;
}

void GradientExchange::combine(const std::vector<GradSlot>& slots) {
  slots_ = slots;
  check_slots();
  const int P = comm_.size();
  if (P == 1) return;  // already the global sum (decisions: nothing was exchanged)
  const double t_begin = util::wall_seconds();
  const uint64_t bytes_before = comm_.bytes_sent(), collectives_before = comm_.collectives();
  const size_t K = gather_header(t_begin);
  const uint64_t header_bytes = comm_.bytes_sent() - bytes_before;

  const double t_pack = util::thread_cpu_seconds();
  const Plan plan = choose_paths(K);
  pack(plan);
  stats_.pack_seconds += util::thread_cpu_seconds() - t_pack;

  // The data collectives (blocking: non-blocking ones bought nothing here, see
  // scripts/COST_MODEL.md, and Open MPI's MPI_Iallreduce was slower than MPI_Allreduce).
  const uint64_t before_sparse = comm_.bytes_sent();
  if (plan.total_words > 0) {
    comm_.allgatherv(send_.data(), words_per_rank_, recv_.data());
    stats_.sparse_bytes_sent += header_bytes + (comm_.bytes_sent() - before_sparse);
    stats_.sparse_payload_bytes += plan.payload_bytes;
    stats_.sparse_dense_equiv_bytes += ring_allreduce_bytes(plan.sparse_equiv_bytes, P);
  }
  if (!dense_.empty()) comm_.allreduce_sum(dense_.data(), dense_.size());

  const double t_merge = util::thread_cpu_seconds();
  unpack_and_merge(K);
  stats_.merge_seconds += util::thread_cpu_seconds() - t_merge;
  stats_.seconds += util::wall_seconds() - t_begin;
  stats_.bytes_sent += comm_.bytes_sent() - bytes_before;
  stats_.collectives += comm_.collectives() - collectives_before;
  ++stats_.steps;
}

// Every slot well formed, before anything is sent; one decision per sparse slot (Sparse
// until choose_paths decides, which is what a single rank reports).
void GradientExchange::check_slots() {
  decisions_.clear();
  for (size_t i = 0; i < slots_.size(); ++i) {
    const GradSlot& s = slots_[i];
    if ((s.sparse == nullptr) == (s.dense == nullptr))
      throw std::logic_error("GradientExchange: a slot must hold exactly one of sparse/dense");
    if (s.sparse) {
      check_sparse(*s.sparse, s.total_rows, i, comm_.rank());
      stats_.touched_payload_bytes += s.sparse->rows.size() * (1 + s.sparse->cols) * kWord;
      decisions_.push_back(ExchangeMode::Sparse);
    }
  }
}

// Collective 1, the header: layout signature + this rank's touched-row count per sparse
// slot, from every rank into header_. Returns the words per rank. Its wall time counts as
// waiting (the header is tiny, so it is mostly the wait for the slowest rank).
size_t GradientExchange::gather_header(double t_begin) {
  std::vector<uint64_t> mine{layout_signature(slots_)};
  for (const GradSlot& s : slots_)
    if (s.sparse) mine.push_back(s.sparse->rows.size());
  const size_t K = mine.size();
  header_ = comm_.allgather(mine.data(), K);
  stats_.wait_seconds += util::wall_seconds() - t_begin;
  for (int r = 0; r < comm_.size(); ++r)
    if (header_[static_cast<size_t>(r) * K] != mine[0])
      throw std::runtime_error("rank " + std::to_string(comm_.rank()) + ": gradient blocks differ from rank " +
                               std::to_string(r) + "'s (layout signature mismatch): replicas out of step");
  return K;
}

// Decides sparse or dense per sparse slot from the gathered counts: the same numbers on
// every rank, so the same decisions, with no extra collective. Sets words_per_rank_ (the
// allgatherv's counts) and returns the buffer sizes and byte counts that follow.
GradientExchange::Plan GradientExchange::choose_paths(size_t K) {
  const int P = comm_.size();
  Plan plan;
  words_per_rank_.assign(static_cast<size_t>(P), 0);
  size_t k = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const GradSlot& s = slots_[i];
    if (!s.sparse) {
      plan.dense_words += s.dense->values.size();
      continue;
    }
    ++k;
    uint64_t touched_all = 0;
    for (int r = 0; r < P; ++r) touched_all += header_[static_cast<size_t>(r) * K + k];
    const ExchangeMode m = choose_mode(mode_, touched_all, s.total_rows);
    decisions_[k - 1] = m;
    const uint64_t cols = s.sparse->cols;
    if (m == ExchangeMode::Sparse) {
      ++stats_.sparse_exchanges;
      for (int r = 0; r < P; ++r)
        words_per_rank_[static_cast<size_t>(r)] += header_[static_cast<size_t>(r) * K + k] * (1 + cols);
      plan.payload_bytes += s.sparse->rows.size() * (1 + cols) * kWord;
      plan.sparse_equiv_bytes += s.total_rows * (cols + 1) * kWord;
    } else {
      ++stats_.dense_exchanges;
      plan.dense_words += s.total_rows * (cols + 1);
    }
  }
  for (uint64_t w : words_per_rank_) plan.total_words += w;
  return plan;
}

// Fills the send buffers: per sparse-mode slot this rank's ids then its value rows (float
// bits) into send_; dense slots, and sparse ones gone dense, into the fused dense_.
void GradientExchange::pack(const Plan& plan) {
  send_.resize(words_per_rank_[static_cast<size_t>(comm_.rank())]);
  dense_.assign(plan.dense_words, 0.0f);
  size_t at = 0, dat = 0, k = 0;
  for (const GradSlot& s : slots_) {
    if (!s.sparse) {
      std::copy(s.dense->values.begin(), s.dense->values.end(), dense_.begin() + static_cast<ptrdiff_t>(dat));
      dat += s.dense->values.size();
      continue;
    }
    const optim::SparseGrad& g = *s.sparse;
    if (decisions_[k++] == ExchangeMode::Sparse) {
      std::copy(g.rows.begin(), g.rows.end(), send_.begin() + static_cast<ptrdiff_t>(at));
      at += g.rows.size();
      if (!g.values.empty()) std::memcpy(&send_[at], g.values.data(), g.values.size() * kWord);
      at += g.values.size();
    } else {  // full matrix, then one touched count per row
      float* full = &dense_[dat];
      float* touched = full + s.total_rows * g.cols;
      for (size_t i = 0; i < g.rows.size(); ++i) {
        std::copy_n(&g.values[i * g.cols], g.cols, full + static_cast<size_t>(g.rows[i]) * g.cols);
        touched[g.rows[i]] = 1.0f;
      }
      dat += s.total_rows * (g.cols + 1);
    }
  }
  recv_.resize(plan.total_words);
}

// Writes the sums back into the slots: dense data copied out of dense_, sparse-mode slots
// merged from every rank's rows in recv_ (duplicates summed in rank order).
void GradientExchange::unpack_and_merge(size_t K) {
  const size_t P = static_cast<size_t>(comm_.size());
  // Where each rank's packed block starts in recv_; advanced slot by slot.
  std::vector<size_t> cursor(P);
  for (size_t r = 0, at = 0; r < cursor.size(); ++r) {
    cursor[r] = at;
    at += words_per_rank_[r];
  }
  std::vector<RankRows> parts(P);
  size_t dat = 0, k = 0;
  for (const GradSlot& s : slots_) {
    if (!s.sparse) {
      std::copy_n(&dense_[dat], s.dense->values.size(), s.dense->values.begin());
      dat += s.dense->values.size();
      continue;
    }
    optim::SparseGrad& g = *s.sparse;
    const size_t cols = g.cols;
    if (decisions_[k++] == ExchangeMode::Dense) {
      unpack_dense_rows(&dense_[dat], s.total_rows, cols, g);
      dat += s.total_rows * (cols + 1);
      continue;
    }
    for (size_t r = 0; r < parts.size(); ++r) {
      const size_t n = header_[r * K + k];
      parts[r] = {recv_.data() + cursor[r], recv_.data() + cursor[r] + n, n};
      cursor[r] += n * (1 + cols);
    }
    merge_rows(parts, cols, g);
  }
}

}  // namespace sparsetrain::collective
