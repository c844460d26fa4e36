// Fixed-capacity LSH tables over a layer's neurons, and the active-set query.
#include "sparsetrain/lsh/neuron_index.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "sampling.h"
#include "sparsetrain/kernels/kernels.h"
#include "sparsetrain/util/hash.h"

namespace sparsetrain::lsh {

NeuronIndex::NeuronIndex(const LshConfig& config, size_t num_neurons) : config_(config), num_neurons_(num_neurons) {
  validate(config_);
  if (num_neurons >= std::numeric_limits<uint32_t>::max())
    throw std::invalid_argument("NeuronIndex: num_neurons must fit in uint32");
  capacity_ = static_cast<size_t>(config_.bucket_capacity);
  family_ = HashFamily::create(config_);
  const size_t slots = static_cast<size_t>(config_.num_tables) * table_size();
  buckets_.assign(slots * capacity_, 0);
  sizes_.assign(slots, 0);
  offered_.assign(slots, 0);
}

void NeuronIndex::rebuild(const float* weights, size_t row_stride) {
  const size_t L = static_cast<size_t>(config_.num_tables);
  const auto N = static_cast<int64_t>(num_neurons_);
  codes_.resize(L * num_neurons_);

  // Phase 1: hash every row (the expensive part) in parallel, storing codes
  // table-major so phase 2 streams through them.
#pragma omp parallel
  {
    std::vector<uint32_t> local(L);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      family_->hash(weights + static_cast<size_t>(n) * row_stride, local.data());
      for (size_t t = 0; t < L; ++t) codes_[t * num_neurons_ + static_cast<size_t>(n)] = local[t];
    }
  }

  // Phase 2: fill the tables. Tables are independent, and inside a table
  // neurons are inserted in id order, so the result is the same for any
  // number of threads.
  std::fill(sizes_.begin(), sizes_.end(), 0u);
  std::fill(offered_.begin(), offered_.end(), 0u);
  const size_t T = table_size();
  const uint32_t cap = static_cast<uint32_t>(capacity_);
#pragma omp parallel for schedule(static)
  for (int64_t ti = 0; ti < static_cast<int64_t>(L); ++ti) {
    const size_t t = static_cast<size_t>(ti);
    const uint32_t* codes = codes_.data() + t * num_neurons_;
    for (size_t n = 0; n < num_neurons_; ++n) {
      const size_t slot = t * T + codes[n];
      uint32_t* bucket = buckets_.data() + slot * capacity_;
      const uint32_t seen = offered_[slot]++;
      if (seen < cap) {
        bucket[seen] = static_cast<uint32_t>(n);
        sizes_[slot] = seen + 1;
      } else {
        // Reservoir sampling (Algorithm R): the (seen+1)-th item replaces a
        // uniform slot with probability cap/(seen+1). The random numbers come
        // from a counter-based stream keyed by (seed, table, bucket) and the
        // item's rank in the bucket, so no per-bucket RNG state is needed.
        const uint64_t stream = util::derive_seed(config_.seed, detail::kStreamReservoir, slot);
        const uint64_t j = detail::reduce(util::hash64(seen, stream), uint64_t{seen} + 1);
        if (j < cap) bucket[j] = static_cast<uint32_t>(n);
      }
    }
  }
}

QueryScratch NeuronIndex::make_scratch() const {
  QueryScratch s;
  const size_t L = static_cast<size_t>(config_.num_tables);
  s.marks.assign(num_neurons_, {});
  s.codes.assign(L, 0);
  s.seen.assign(L * capacity_, 0);  // written in place by every query, never resized
  s.ranked.assign(L * capacity_, 0);
  s.counts.assign(L * capacity_, 0);
  return s;
}

void NeuronIndex::query(const float* x, size_t target, util::Rng& rng, QueryScratch& scratch,
                        std::vector<uint32_t>& out) const {
  const size_t want = std::min(target, num_neurons_);
  if (want == 0) return;
  const size_t L = static_cast<size_t>(config_.num_tables);
  if (scratch.marks.size() != num_neurons_ || scratch.codes.size() != L || scratch.seen.size() < L * capacity_)
    scratch = make_scratch();
  if (out.capacity() < out.size() + want) out.reserve(out.size() + want);

  // New epoch: marks stamped with older epochs count as unseen, so the marks
  // never need clearing (except once every 2^32 queries).
  if (++scratch.epoch == 0) {
    for (auto& m : scratch.marks) m.stamp = 0;
    scratch.epoch = 1;
  }
  const uint32_t epoch = scratch.epoch;
  QueryScratch::Mark* marks = scratch.marks.data();

  // Union of the L buckets with co-occurrence counts, in first-seen order.
  // Branch-free: whether a neuron was seen before is a coin flip for the branch
  // predictor. Every id is written to `seen`; the end only moves on first sightings.
  family_->hash(x, scratch.codes.data());
  const size_t T = table_size();
  uint32_t* seen = scratch.seen.data();
  size_t distinct = 0;
  for (size_t t = 0; t < L; ++t) {
    const size_t slot = t * T + scratch.codes[t];
    const uint32_t* ids = buckets_.data() + slot * capacity_;
    const uint32_t size = sizes_[slot];
    for (uint32_t i = 0; i < size; ++i) {
      const uint32_t id = ids[i];
      QueryScratch::Mark& m = marks[id];
      const uint32_t fresh = m.stamp != epoch;
      m.count = (m.count & (fresh - 1u)) + 1u;  // fresh: 1, else count + 1
      m.stamp = epoch;
      seen[distinct] = id;
      distinct += fresh;
    }
  }
  scratch.found = distinct;

  // The `want` best by count, descending (counts are in [1, L]), ties in first-seen
  // (table) order: the head of a stable sort by count. A counting sort over L + 1
  // buckets spends most of the query on store-to-load chains (consecutive ids mostly
  // bump the same bucket), so instead: the counts side by side, then one stable
  // select_equal pass (SIMD compress) per level, from L down, until `take` are kept.
  const size_t found = distinct;
  uint32_t* counts = scratch.counts.data();
  for (size_t k = 0; k < found; ++k) counts[k] = marks[seen[k]].count;
  uint32_t* ranked = scratch.ranked.data();
  const size_t take = std::min(want, found);
  const auto& kern = kernels::active();
  size_t kept = 0;
  for (uint32_t c = static_cast<uint32_t>(L); c >= 1 && kept < take; --c)
    kept += kern.select_equal(counts, seen, found, c, take - kept, ranked + kept);
  out.insert(out.end(), ranked, ranked + take);
  // When topping up, take == found: every marked neuron is already in `out`.
  if (take < want) top_up(want - take, rng, scratch, out);
}

void NeuronIndex::top_up(size_t need, util::Rng& rng, QueryScratch& scratch, std::vector<uint32_t>& out) const {
  const uint32_t epoch = scratch.epoch;
  QueryScratch::Mark* marks = scratch.marks.data();
  const size_t picked = scratch.found;
  if (2 * (picked + need) <= num_neurons_) {
    // Rejection sampling: at most half the neurons are ever marked, so each
    // draw succeeds with probability >= 1/2.
    while (need > 0) {
      const auto id = static_cast<uint32_t>(rng.below(num_neurons_));
      if (marks[id].stamp != epoch) {
        marks[id].stamp = epoch;
        out.push_back(id);
        --need;
      }
    }
    return;
  }
  // Dense case: collect the unpicked neurons and draw `need` of them with a
  // partial Fisher-Yates shuffle. The pool is allocated on first use only.
  auto& pool = scratch.pool;
  if (pool.capacity() < num_neurons_) pool.reserve(num_neurons_);
  pool.clear();
  for (size_t n = 0; n < num_neurons_; ++n)
    if (marks[n].stamp != epoch) pool.push_back(static_cast<uint32_t>(n));
  const size_t avail = pool.size();
  for (size_t i = 0; i < need; ++i) {
    const size_t j = i + static_cast<size_t>(rng.below(avail - i));
    std::swap(pool[i], pool[j]);
    marks[pool[i]].stamp = epoch;
    out.push_back(pool[i]);
  }
}

}  // namespace sparsetrain::lsh
