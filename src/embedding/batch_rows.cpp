#include "sparsetrain/embedding/batch_rows.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "sparsetrain/model/stable_scatter.h"

namespace sparsetrain::embedding {

void BatchRows::plan(const uint32_t* feature_ids, size_t n, const optim::RowShard& shard,
                     uint32_t features_per_sample) {
  if (n >= (uint64_t{1} << 32)) throw std::invalid_argument("BatchRows::plan: too many features in one batch");
  find_distinct(feature_ids, n);
  number_slots(shard);
  slots.resize(n);
  for (size_t p = 0; p < n; ++p) slots[p] = slot_of_[first_[p]];
  group_by_slot(features_per_sample);
  // rows keeps its size: the fetch overwrites it (clearing it would zero-fill it again).
}

// Each position's distinct id, numbered in order of first appearance, through an
// open-addressing table sized from the previous batch (a batch's distinct ids fit in L2:
// a sort of all (id, position) pairs cost ~10 ns per feature, this ~3).
void BatchRows::find_distinct(const uint32_t* feature_ids, size_t n) {
  constexpr uint32_t kEmpty = UINT32_MAX;
  size_t cap = 1024;
  while (cap < 2 * std::max<size_t>(seen_.size(), n / 8)) cap *= 2;
  table_.assign(cap, {0, kEmpty});
  seen_.clear();
  count_.clear();
  first_.resize(n);
  int bits = std::countr_zero(cap);
  // Fibonacci hashing: the top bits of id * 2^64 / phi spread consecutive and strided ids.
  const auto slot_of = [&](uint32_t id) {
    return static_cast<size_t>((static_cast<uint64_t>(id) * 0x9E3779B97F4A7C15ULL) >> (64 - bits));
  };
  for (size_t p = 0; p < n; ++p) {
    const uint32_t id = feature_ids[p];
    size_t h = slot_of(id);
    while (table_[h].index != kEmpty && table_[h].id != id) h = (h + 1) & (table_.size() - 1);
    if (table_[h].index == kEmpty) {
      table_[h] = {id, static_cast<uint32_t>(seen_.size())};
      seen_.push_back(id);
      count_.push_back(0);
      if (2 * seen_.size() > table_.size()) {  // keep the load under 1/2: rehash at twice the size
        table_.assign(2 * table_.size(), {0, kEmpty});
        ++bits;
        for (uint32_t i = 0; i < seen_.size(); ++i) {
          size_t g = slot_of(seen_[i]);
          while (table_[g].index != kEmpty) g = (g + 1) & (table_.size() - 1);
          table_[g] = {seen_[i], i};
        }
        h = slot_of(id);
        while (table_[h].id != id || table_[h].index == kEmpty) h = (h + 1) & (table_.size() - 1);
      }
    }
    first_[p] = table_[h].index;
    ++count_[table_[h].index];
  }
}

// keys_ = (id << 32 | first-appearance index) of the distinct ids, sorted by id.
void BatchRows::sort_distinct() {
  const size_t U = seen_.size();
  keys_.resize(U);
  uint32_t all_or = 0;
  for (size_t i = 0; i < U; ++i) {
    keys_[i] = (static_cast<uint64_t>(seen_[i]) << 32) | i;
    all_or |= seen_[i];
  }
  constexpr int kDigit = 11;
  constexpr size_t kBuckets = size_t{1} << kDigit;
  tmp_.resize(U);
  for (int shift = 32; shift < 64 && (all_or >> (shift - 32)) != 0; shift += kDigit) {
    const uint64_t* in = keys_.data();
    uint64_t* out = tmp_.data();
    model::stable_counting_scatter(
        U, kBuckets, [&](size_t e) { return static_cast<size_t>((in[e] >> shift) & (kBuckets - 1)); },
        [&](size_t e, uint32_t pos) { out[pos] = in[e]; }, nullptr, scratch_);
    keys_.swap(tmp_);
  }
}

// Sorts the distinct ids and numbers them owner-major (slot_of_: first-appearance index ->
// slot).
void BatchRows::number_slots(const optim::RowShard& shard) {
  const size_t U = seen_.size();
  sort_distinct();
  ids.resize(U);
  for (size_t i = 0; i < U; ++i) {
    ids[i] = static_cast<uint32_t>(keys_[i] >> 32);
    if (ids[i] >= shard.global_rows)
      throw std::out_of_range("feature id " + std::to_string(ids[i]) + " is outside the table of " +
                              std::to_string(shard.global_rows) + " rows");
  }
  number_by_owner(shard);
  slot_of_.resize(U);
  for (size_t i = 0; i < U; ++i) slot_of_[static_cast<uint32_t>(keys_[i])] = sorted_slots[i];
}

// Slots for the sorted `ids`, owner-major: per_owner, sorted_slots and by_slot.
void BatchRows::number_by_owner(const optim::RowShard& shard) {
  per_owner.assign(shard.count, 0);
  for (uint32_t id : ids) ++per_owner[shard.owner(id)];
  std::vector<uint64_t> at(shard.count, 0);
  for (uint32_t r = 1; r < shard.count; ++r) at[r] = at[r - 1] + per_owner[r - 1];
  sorted_slots.resize(ids.size());
  by_slot.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint64_t slot = at[shard.owner(ids[i])]++;
    sorted_slots[i] = static_cast<uint32_t>(slot);
    by_slot[slot] = ids[i];
  }
}

// For the backward: each slot's samples (position / features_per_sample), in position order.
void BatchRows::group_by_slot(uint32_t features_per_sample) {
  const size_t U = seen_.size(), n = slots.size();
  slot_start.assign(U + 1, 0);
  for (size_t i = 0; i < U; ++i) slot_start[slot_of_[i] + 1] = count_[i];
  for (size_t k = 0; k < U; ++k) slot_start[k + 1] += slot_start[k];
  cursor_.assign(slot_start.begin(), slot_start.end() - 1);
  slot_samples.resize(n);
  for (size_t p = 0; p < n; ++p) slot_samples[cursor_[slots[p]]++] = static_cast<uint32_t>(p / features_per_sample);
}

void BatchRows::plan_blocks(const uint32_t* feature_ids, size_t samples, uint32_t features_per_sample,
                            const uint32_t* chosen, size_t per_sample_blocks, uint32_t blocks,
                            const optim::RowShard& shard) {
  const size_t F = features_per_sample, A = per_sample_blocks, n = samples * F;
  if (n * A >= (uint64_t{1} << 32)) throw std::invalid_argument("BatchRows::plan_blocks: too many rows in one batch");
  if (blocks == 0 || shard.global_rows % blocks != 0)
    throw std::invalid_argument("BatchRows::plan_blocks: the table is not in rows of " + std::to_string(blocks) +
                                " blocks");
  find_distinct(feature_ids, n);
  sort_distinct();
  rank_of_.resize(seen_.size());
  for (size_t i = 0; i < seen_.size(); ++i) rank_of_[static_cast<uint32_t>(keys_[i])] = static_cast<uint32_t>(i);
  const size_t words = (blocks + 63) / 64;
  mark_blocks(samples, features_per_sample, chosen, A, words);
  list_block_rows(blocks, words, shard);
  // Every position's slot: its id's first row of the block's word, plus the id's blocks below it in that word.
  slots.resize(n * A);
  for (size_t s = 0; s < samples; ++s)
    for (size_t k = 0; k < A; ++k) {
      const uint32_t b = chosen[s * A + k], w = b / 64;
      const uint64_t below = (uint64_t{1} << (b % 64)) - 1;
      uint32_t* out = &slots[(s * A + k) * F];
      for (size_t j = 0; j < F; ++j) {
        const size_t r = rank_of_[first_[s * F + j]];
        const uint32_t u =
            bits_before_[r * words + w] + static_cast<uint32_t>(std::popcount(bits_[r * words + w] & below));
        out[j] = sorted_slots[u];
      }
    }
  slot_start.clear();
  slot_samples.clear();
}

// bits_: per distinct id (in id order), the blocks any of its samples chose.
void BatchRows::mark_blocks(size_t samples, uint32_t features_per_sample, const uint32_t* chosen,
                            size_t per_sample_blocks, size_t words) {
  const size_t F = features_per_sample, A = per_sample_blocks;
  bits_.assign(seen_.size() * words, 0);
  mask_.resize(words);
  for (size_t s = 0; s < samples; ++s) {
    std::fill(mask_.begin(), mask_.end(), 0);
    for (size_t k = 0; k < A; ++k) mask_[chosen[s * A + k] / 64] |= uint64_t{1} << (chosen[s * A + k] % 64);
    for (size_t j = 0; j < F; ++j) {
      uint64_t* id_bits = &bits_[rank_of_[first_[s * F + j]] * words];
      for (size_t w = 0; w < words; ++w) id_bits[w] |= mask_[w];
    }
  }
}

// The marked rows in row order (id order, then block order), numbered owner-major as plan() numbers them.
void BatchRows::list_block_rows(uint32_t blocks, size_t words, const optim::RowShard& shard) {
  const size_t D = seen_.size();
  bits_before_.resize(D * words);
  uint32_t total = 0;
  for (size_t i = 0; i < D * words; ++i) {
    bits_before_[i] = total;
    total += static_cast<uint32_t>(std::popcount(bits_[i]));
  }
  ids.resize(total);
  size_t u = 0;
  for (size_t r = 0; r < D; ++r) {
    const uint64_t first_row = (keys_[r] >> 32) * uint64_t{blocks};
    if (first_row >= shard.global_rows)
      throw std::out_of_range("feature id " + std::to_string(keys_[r] >> 32) + " is outside the table of " +
                              std::to_string(shard.global_rows / blocks) + " rows");
    for (size_t w = 0; w < words; ++w)
      for (uint64_t word = bits_[r * words + w]; word != 0; word &= word - 1)
        ids[u++] = static_cast<uint32_t>(first_row + w * 64 + static_cast<uint64_t>(std::countr_zero(word)));
  }
  number_by_owner(shard);
}

}  // namespace sparsetrain::embedding
