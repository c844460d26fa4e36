#include "sparsetrain/embedding/sharded_table.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "sparsetrain/collective/row_merge.h"
#include "sparsetrain/util/cpu_time.h"

namespace sparsetrain::embedding {
namespace {

// Where each rank's block starts in a buffer of consecutive blocks.
std::vector<uint64_t> offsets(const std::vector<uint64_t>& counts) {
  std::vector<uint64_t> at(counts.size() + 1, 0);
  for (size_t r = 0; r < counts.size(); ++r) at[r + 1] = at[r] + counts[r];
  return at;
}

}  // namespace

ShardedTable::ShardedTable(collective::Comm& comm, optim::ParamBlock& local)
    : comm_(comm), block_(local), cols_(local.cols), served_(static_cast<size_t>(comm.size())) {
  if (block_.shard.count != static_cast<uint32_t>(comm.size()) ||
      block_.shard.rank != static_cast<uint32_t>(comm.rank()))
    throw std::logic_error("ShardedTable: the block is split for rank " + std::to_string(block_.shard.rank) + " of " +
                           std::to_string(block_.shard.count) + ", this is rank " + std::to_string(comm.rank()) +
                           " of " + std::to_string(comm.size()));
}

void ShardedTable::count_sent(const std::vector<uint64_t>& words) {
  for (size_t r = 0; r < words.size(); ++r)
    if (r != static_cast<size_t>(comm_.rank()) && words[r] > 0) {
      stats_.bytes_sent += words[r] * sizeof(uint32_t);
      ++stats_.messages;
    }
}

std::vector<uint64_t> ShardedTable::request_counts(const BatchRows* next) {
  std::vector<uint64_t> mine(static_cast<size_t>(comm_.size()), 0);
  if (next) mine = next->per_owner;
  if (mine.size() != static_cast<size_t>(comm_.size()))
    throw std::logic_error("ShardedTable: a batch planned for another rank count");
  const double t0 = util::wall_seconds();
  std::vector<uint64_t> counts = comm_.alltoall(mine.data(), 1);
  stats_.wire_s += util::wall_seconds() - t0;
  if (next) stats_.rows_requested += next->size();
  return counts;
}

void ShardedTable::take_requests(const uint32_t* words, const std::vector<uint64_t>& counts,
                                 const std::vector<uint64_t>& grad_words) {
  const optim::RowShard& s = block_.shard;
  uint64_t at = 0;
  for (size_t r = 0; r < served_.size(); ++r) {
    at += grad_words[r];
    served_[r].assign(words + at, words + at + counts[r]);
    at += counts[r];
    for (uint32_t id : served_[r])
      if (id >= s.global_rows || s.owner(id) != s.rank)
        throw std::logic_error("rank " + std::to_string(s.rank) + ": rank " + std::to_string(r) + " asked for row " +
                               std::to_string(id) + ", which this rank does not own");
  }
}

void ShardedTable::reply(BatchRows* next) {
  const size_t P = served_.size();
  double t0 = util::thread_cpu_seconds();
  std::vector<uint64_t> send_words(P), recv_words(P, 0);
  uint64_t total = 0;
  for (size_t r = 0; r < P; ++r) total += send_words[r] = served_[r].size() * cols_;
  stats_.rows_served += total / cols_;
  send_.resize(total);
  uint32_t* out = send_.data();
  // The served rows are scattered over the table: load a few rows ahead.
  constexpr size_t kAhead = 8;
  const size_t row_bytes = cols_ * sizeof(float);
  for (size_t r = 0; r < P; ++r) {
    const std::vector<uint32_t>& ids = served_[r];
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i + kAhead < ids.size()) {
        const char* ahead = reinterpret_cast<const char*>(block_.row(block_.shard.local(ids[i + kAhead])));
        for (size_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(ahead + b);
      }
      std::memcpy(out, block_.row(block_.shard.local(ids[i])), row_bytes);
      out += cols_;
    }
  }
  if (next) {
    for (size_t o = 0; o < P; ++o) recv_words[o] = next->per_owner[o] * cols_;
    next->rows.resize(next->size() * cols_);
  }
  stats_.fetch_s += util::thread_cpu_seconds() - t0;
  // The rows arrive owner-major, which is slot order: straight into the batch's row cache.
  uint32_t* into = next && !next->rows.empty() ? reinterpret_cast<uint32_t*>(next->rows.data()) : recv_.data();
  const double w0 = util::wall_seconds();
  comm_.alltoallv(send_.data(), send_words, into, recv_words);
  stats_.wire_s += util::wall_seconds() - w0;
  count_sent(send_words);
}

void ShardedTable::fetch(BatchRows& next) {
  const size_t P = served_.size();
  const std::vector<uint64_t> counts = request_counts(&next);
  const std::vector<uint64_t> recv_at = offsets(counts);
  recv_.resize(recv_at[P]);
  const double w0 = util::wall_seconds();
  comm_.alltoallv(next.by_slot.data(), next.per_owner, recv_.data(), counts);  // ids by slot: owner-major
  stats_.wire_s += util::wall_seconds() - w0;
  count_sent(next.per_owner);
  take_requests(recv_.data(), counts, std::vector<uint64_t>(P, 0));
  reply(&next);
}

void ShardedTable::apply_owned(const OwnerUpdate& update, const std::vector<uint64_t>& block_words) {
  const size_t P = served_.size();
  double t0 = util::thread_cpu_seconds();
  std::vector<collective::RankRows> parts(P);
  uint64_t at = 0;
  for (size_t r = 0; r < P; ++r) {
    parts[r] = {served_[r].data(), recv_.data() + at, served_[r].size()};
    stats_.rows_merged += served_[r].size();
    at += block_words[r];
  }
  // Rank r sent its gradient rows for exactly the ids it asked for last step. (A table is
  // sharded only over two or more ranks, so there is always a merge, as replicated has.)
  collective::merge_rows(parts, cols_, merged_);
  merged_.cols = cols_;
  for (uint32_t& id : merged_.rows) id = static_cast<uint32_t>(block_.shard.local(id));
  stats_.merge_s += util::thread_cpu_seconds() - t0;
  t0 = util::thread_cpu_seconds();
  update(block_, merged_);
  stats_.apply_s += util::thread_cpu_seconds() - t0;
  stats_.rows_applied += merged_.rows.size();
}

void ShardedTable::push_and_fetch(const BatchRows& cur, const optim::SparseGrad& grad, const optim::Optimizer& opt,
                                  BatchRows* next) {
  push_and_fetch(
      cur, grad,
      [&opt](optim::ParamBlock& local, const optim::SparseGrad& summed) {
        opt.apply(local, summed, optim::Optimizer::Rows::InputTable);
      },
      next);
}

void ShardedTable::push_and_fetch(const BatchRows& cur, const optim::SparseGrad& grad, const OwnerUpdate& update,
                                  BatchRows* next) {
  if (grad.cols != cols_ || grad.rows.size() != cur.size() || grad.values.size() != cur.size() * cols_)
    throw std::logic_error("ShardedTable::push_and_fetch: the gradient does not cover the batch's rows");
  const size_t P = served_.size();
  // No next batch (on every rank, as the call is collective): nobody asks for rows.
  const std::vector<uint64_t> counts = next ? request_counts(next) : std::vector<uint64_t>(P, 0);
  double t0 = util::thread_cpu_seconds();
  // Round A: to each owner, the gradient rows of its ids (owner-major, as requested), then
  // the ids of the next batch it owns.
  std::vector<uint64_t> send_words(P), grad_words(P), recv_words(P);
  for (size_t o = 0; o < P; ++o) send_words[o] = cur.per_owner[o] * cols_ + (next ? next->per_owner[o] : 0);
  for (size_t r = 0; r < P; ++r) {
    grad_words[r] = served_[r].size() * cols_;
    recv_words[r] = grad_words[r] + counts[r];
  }
  const std::vector<uint64_t> send_at = offsets(send_words), recv_at = offsets(recv_words);
  send_.resize(send_at[P]);
  recv_.resize(recv_at[P]);
  // Slots are owner-major: owner o's gradient rows are one contiguous run, and so are the
  // next batch's ids it owns.
  uint64_t slot = 0, next_slot = 0;
  for (size_t o = 0; o < P; ++o) {
    uint32_t* out = send_.data() + send_at[o];
    const uint64_t n = cur.per_owner[o];
    if (n) std::memcpy(out, &grad.values[slot * cols_], n * cols_ * sizeof(float));
    out += n * cols_;
    slot += n;
    if (next) {
      const uint64_t k = next->per_owner[o];
      std::copy_n(next->by_slot.data() + next_slot, k, out);
      next_slot += k;
    }
  }
  stats_.rows_pushed += cur.size();
  stats_.pack_s += util::thread_cpu_seconds() - t0;
  const double w0 = util::wall_seconds();
  comm_.alltoallv(send_.data(), send_words, recv_.data(), recv_words);
  stats_.wire_s += util::wall_seconds() - w0;
  count_sent(send_words);
  // Rank r's block: its gradient rows, then its requests. The sums use the ids served
  // last step, so they are applied before the new requests replace them.
  apply_owned(update, recv_words);
  take_requests(recv_.data(), counts, grad_words);
  if (next) reply(next);
  ++stats_.steps;
}

void ShardedTable::replicate_row_values(float* values) {
  const optim::RowShard& s = block_.shard;
  const size_t P = s.count;
  double t0 = util::thread_cpu_seconds();
  std::vector<uint64_t> counts(P);
  for (uint32_t r = 0; r < P; ++r) counts[r] = optim::RowShard{s.global_rows, r, s.count}.local_rows();
  const std::vector<uint64_t> at = offsets(counts);
  send_.resize(counts[s.rank]);
  for (size_t i = 0; i < send_.size(); ++i) std::memcpy(&send_[i], &values[s.global(i)], sizeof(float));
  recv_.resize(at[P]);
  stats_.values_shared += send_.size();
  stats_.values_s += util::thread_cpu_seconds() - t0;
  const double w0 = util::wall_seconds();
  comm_.allgatherv(send_.data(), counts, recv_.data());
  stats_.wire_s += util::wall_seconds() - w0;
  stats_.bytes_sent += send_.size() * sizeof(uint32_t) * (P - 1);
  t0 = util::thread_cpu_seconds();
  for (uint32_t r = 0; r < P; ++r) {  // rank r's entries, in its local order: global rows r, r + P, ...
    const uint32_t* from = recv_.data() + at[r];
    for (uint64_t i = 0; i < counts[r]; ++i) std::memcpy(&values[i * P + r], &from[i], sizeof(float));
  }
  stats_.values_s += util::thread_cpu_seconds() - t0;
}

void ShardedTable::replicate_updated_row_values(float* values) {
  double t0 = util::thread_cpu_seconds();
  std::vector<uint32_t>& pairs = send_;  // (global row, value bits) per updated row
  pairs.resize(2 * merged_.rows.size());
  for (size_t i = 0; i < merged_.rows.size(); ++i) {
    const uint64_t g = block_.shard.global(merged_.rows[i]);
    pairs[2 * i] = static_cast<uint32_t>(g);
    std::memcpy(&pairs[2 * i + 1], &values[g], sizeof(float));
  }
  stats_.values_shared += merged_.rows.size();
  stats_.values_s += util::thread_cpu_seconds() - t0;
  const double w0 = util::wall_seconds();
  const uint64_t mine = pairs.size();
  const std::vector<uint64_t> counts = comm_.allgather(&mine, 1);
  const std::vector<uint64_t> at = offsets(counts);
  recv_.resize(at.back());
  comm_.allgatherv(pairs.data(), counts, recv_.data());
  stats_.wire_s += util::wall_seconds() - w0;
  stats_.bytes_sent += mine * sizeof(uint32_t) * (block_.shard.count - 1);
  t0 = util::thread_cpu_seconds();
  for (size_t r = 0; r < counts.size(); ++r) {
    if (r == block_.shard.rank) continue;  // this owner's entries are in place already
    for (uint64_t i = at[r]; i < at[r + 1]; i += 2) std::memcpy(&values[recv_[i]], &recv_[i + 1], sizeof(float));
  }
  stats_.values_s += util::thread_cpu_seconds() - t0;
}

}  // namespace sparsetrain::embedding
