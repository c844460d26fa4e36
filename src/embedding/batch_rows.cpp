#include "sparsetrain/embedding/batch_rows.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "sparsetrain/model/stable_scatter.h"

namespace sparsetrain::embedding {

void BatchRows::clear() {
  ids.clear();
  slots.clear();
  by_slot.clear();
  rows.clear();
  std::fill(per_owner.begin(), per_owner.end(), 0);
}

void BatchRows::plan(const uint32_t* feature_ids, size_t n, const optim::RowShard& shard,
                     uint32_t features_per_sample) {
  if (n >= (uint64_t{1} << 32)) throw std::invalid_argument("BatchRows::plan: too many features in one batch");
  // (id << 32 | position), sorted by id with a stable LSD radix sort over the id bits only:
  // positions stay in order within an id, and the passes stop at the largest id's bits.
  keys_.resize(n);
  uint32_t all_or = 0;
  for (size_t i = 0; i < n; ++i) {
    keys_[i] = (static_cast<uint64_t>(feature_ids[i]) << 32) | i;
    all_or |= feature_ids[i];
  }
  constexpr int kDigit = 11;
  constexpr size_t kBuckets = size_t{1} << kDigit;
  tmp_.resize(n);
  for (int shift = 32; shift < 64 && (all_or >> (shift - 32)) != 0; shift += kDigit) {
    const uint64_t* in = keys_.data();
    uint64_t* out = tmp_.data();
    model::stable_counting_scatter(
        n, kBuckets, [&](size_t e) { return static_cast<size_t>((in[e] >> shift) & (kBuckets - 1)); },
        [&](size_t e, uint32_t pos) { out[pos] = in[e]; }, nullptr, scratch_);
    keys_.swap(tmp_);
  }
  // Distinct ids in order, each position's index among them (slots hold it for now).
  ids.clear();
  slots.resize(n);
  for (size_t e = 0; e < n; ++e) {
    const uint32_t id = static_cast<uint32_t>(keys_[e] >> 32);
    if (ids.empty() || ids.back() != id) ids.push_back(id);
    slots[static_cast<uint32_t>(keys_[e])] = static_cast<uint32_t>(ids.size() - 1);
  }
  // Owner-major slot numbers: counts per owner, then each id's place in its owner's run.
  per_owner.assign(shard.count, 0);
  for (uint32_t id : ids) {
    if (id >= shard.global_rows)
      throw std::out_of_range("feature id " + std::to_string(id) + " is outside the table of " +
                              std::to_string(shard.global_rows) + " rows");
    ++per_owner[shard.owner(id)];
  }
  std::vector<uint64_t> at(shard.count, 0);
  for (uint32_t r = 1; r < shard.count; ++r) at[r] = at[r - 1] + per_owner[r - 1];
  slot_of_.resize(ids.size());
  by_slot.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint64_t slot = at[shard.owner(ids[i])]++;
    slot_of_[i] = static_cast<uint32_t>(slot);
    by_slot[slot] = ids[i];
  }
  for (uint32_t& s : slots) s = slot_of_[s];
  // Grouping by slot: each id's positions are one run of the sorted keys (position order);
  // the runs go to their slots' places.
  const size_t U = ids.size();
  slot_start.assign(U + 1, 0);
  run_start_.resize(U + 1);
  for (size_t e = 0, i = 0; e < n; ++e)
    if (e == 0 || (keys_[e] >> 32) != (keys_[e - 1] >> 32)) run_start_[i++] = static_cast<uint32_t>(e);
  run_start_[U] = static_cast<uint32_t>(n);
  for (size_t i = 0; i < U; ++i) slot_start[slot_of_[i] + 1] = run_start_[i + 1] - run_start_[i];
  for (size_t k = 0; k < U; ++k) slot_start[k + 1] += slot_start[k];
  slot_samples.resize(n);
  for (size_t i = 0; i < U; ++i) {
    uint32_t* out = &slot_samples[slot_start[slot_of_[i]]];
    for (uint32_t e = run_start_[i]; e < run_start_[i + 1]; ++e)
      *out++ = static_cast<uint32_t>(keys_[e]) / features_per_sample;
  }
  // rows keeps its size: the fetch overwrites it (clearing it would zero-fill it again).
}

}  // namespace sparsetrain::embedding
