// BatchRows::plan: distinct ids in order, every feature's slot, slots owner-major.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "sparsetrain/embedding/batch_rows.h"

namespace sparsetrain::embedding {
namespace {

// Against a plain sort + unique + lower_bound, for tables of a few rows (many repeats)
// up to 2^32 rows (the radix passes over every id bit), split over 1, 3 and 7 ranks.
TEST(BatchRows, PlanMatchesSortUniqueAndGroupsByOwner) {
  std::mt19937_64 rng(5);
  for (uint64_t rows : {uint64_t{7}, uint64_t{1000}, uint64_t{1} << 20, uint64_t{1} << 32}) {
    for (uint32_t P : {1u, 3u, 7u}) {
      for (uint32_t rank = 0; rank < P; rank += 2) {
        std::vector<uint32_t> ids(39 * 123);
        for (auto& id : ids) id = static_cast<uint32_t>(rng() % rows);
        BatchRows b;
        b.plan(ids.data(), ids.size(), {rows, rank, P}, 39);
        std::vector<uint32_t> want = ids;
        std::sort(want.begin(), want.end());
        want.erase(std::unique(want.begin(), want.end()), want.end());
        ASSERT_EQ(b.ids, want) << rows << " rows, P " << P;
        // Slots owner-major: each owner's ids in id order, owners in rank order.
        ASSERT_EQ(b.by_slot.size(), b.ids.size());
        size_t k = 0;
        for (uint32_t o = 0; o < P; ++o) {
          uint64_t n = 0;
          for (uint32_t id : b.ids)
            if (id % P == o) {
              ASSERT_EQ(b.by_slot[k++], id);
              ++n;
            }
          EXPECT_EQ(b.per_owner[o], n);
        }
        for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(b.by_slot[b.slots[i]], ids[i]) << "feature " << i;
        // The backward's grouping: slot s lists the samples (position / 39) of its positions, in order.
        std::vector<std::vector<uint32_t>> want_samples(b.size());
        for (size_t i = 0; i < ids.size(); ++i) want_samples[b.slots[i]].push_back(static_cast<uint32_t>(i / 39));
        ASSERT_EQ(b.slot_start.size(), b.size() + 1);
        for (size_t slot = 0; slot < b.size(); ++slot)
          ASSERT_EQ(std::vector<uint32_t>(b.slot_samples.begin() + b.slot_start[slot],
                                          b.slot_samples.begin() + b.slot_start[slot + 1]),
                    want_samples[slot])
              << "slot " << slot;
      }
    }
  }
}

// plan_blocks (a table in rows of `blocks` blocks, each sample reading its chosen blocks of its
// ids' rows) gives what plan() gives over those rows written out, for block counts below, at
// and above a 64-bit word, ids repeated within and across samples, 1, 3 and 7 ranks.
TEST(BatchRows, PlanBlocksMatchesPlanOverTheRowsItReads) {
  std::mt19937_64 rng(11);
  constexpr uint32_t F = 39;
  for (uint32_t blocks : {1u, 4u, 64u, 65u, 640u})
    for (uint32_t P : {1u, 3u, 7u}) {
      const uint64_t table_ids = 500;
      const size_t samples = 57, A = std::min<size_t>(blocks, 5);
      std::vector<uint32_t> ids(samples * F), chosen, rows;
      for (auto& id : ids) id = static_cast<uint32_t>(rng() % table_ids);
      for (size_t s = 0; s < samples; ++s) {
        std::vector<uint32_t> all(blocks);
        for (uint32_t b = 0; b < blocks; ++b) all[b] = b;
        std::shuffle(all.begin(), all.end(), rng);
        std::sort(all.begin(), all.begin() + static_cast<long>(A));
        chosen.insert(chosen.end(), all.begin(), all.begin() + static_cast<long>(A));
      }
      for (size_t s = 0; s < samples; ++s)
        for (size_t k = 0; k < A; ++k)
          for (uint32_t j = 0; j < F; ++j) rows.push_back(ids[s * F + j] * blocks + chosen[s * A + k]);
      const optim::RowShard shard{table_ids * blocks, P - 1, P};
      BatchRows want, got;
      want.plan(rows.data(), rows.size(), shard, F);
      got.plan_blocks(ids.data(), samples, F, chosen.data(), A, blocks, shard);
      SCOPED_TRACE(::testing::Message() << blocks << " blocks, P " << P);
      EXPECT_EQ(got.ids, want.ids);
      EXPECT_EQ(got.by_slot, want.by_slot);
      EXPECT_EQ(got.per_owner, want.per_owner);
      EXPECT_EQ(got.slots, want.slots);
      EXPECT_EQ(got.sorted_slots, want.sorted_slots);
      EXPECT_TRUE(got.slot_start.empty());
    }
  BatchRows b;
  const std::vector<uint32_t> one_id(F, 10), block = {2};
  EXPECT_THROW(b.plan_blocks(one_id.data(), 1, F, block.data(), 1, 4, {40, 0, 2}), std::out_of_range);
  EXPECT_THROW(b.plan_blocks(one_id.data(), 1, F, block.data(), 1, 3, {40, 0, 2}), std::invalid_argument);
  EXPECT_NO_THROW(b.plan_blocks(one_id.data(), 1, F, block.data(), 1, 4, {44, 0, 2}));
}

TEST(BatchRows, RefusesIdsOutsideTheTable) {
  const std::vector<uint32_t> ids = {3, 9, 10};
  BatchRows b;
  EXPECT_THROW(b.plan(ids.data(), ids.size(), {10, 0, 2}, 39), std::out_of_range);
  EXPECT_NO_THROW(b.plan(ids.data(), 2, {10, 0, 2}, 39));
}

TEST(RowShard, StrideArithmetic) {
  const optim::RowShard s{10, 1, 4};  // rows 1, 5, 9
  EXPECT_EQ(s.local_rows(), 3u);
  EXPECT_EQ(s.global(2), 9u);
  EXPECT_EQ(s.local(9), 2u);
  EXPECT_EQ(s.owner(9), 1u);
  EXPECT_EQ((optim::RowShard{3, 3, 4}).local_rows(), 0u);  // more ranks than rows: some hold none
  EXPECT_EQ(optim::RowShard::whole(5).local_rows(), 5u);
}

}  // namespace
}  // namespace sparsetrain::embedding
