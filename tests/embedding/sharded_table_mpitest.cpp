// ShardedTable under a real mpirun (CTest: 2 and 3 ranks): fetched rows are the owners'
// rows, and a push sums every rank's gradient rows for an id before the owner's update.
// Every rank runs the same collectives; checks use EXPECT so no rank leaves early.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <random>
#include <set>

#include "../common/mpi_test_main.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/embedding/sharded_table.h"

namespace sparsetrain::embedding {
namespace {

collective::Comm& world() { return collective::Comm::world(); }
constexpr uint64_t kRows = 50;
constexpr size_t kCols = 4;
float initial(uint64_t g, size_t j) { return static_cast<float>(g * 10 + j); }

// Each rank's batch: random ids (repeats included), different per rank and round.
std::vector<uint32_t> batch_ids(int rank, int round) {
  std::mt19937 rng(static_cast<unsigned>(rank * 100 + round));
  std::vector<uint32_t> ids(30);
  for (auto& id : ids) id = static_cast<uint32_t>(rng() % kRows);
  return ids;
}

// Plans and fetches this rank's round-0 batch into `cur`; returns a gradient of 1 for each of its slots.
optim::SparseGrad fetch_round0_with_unit_gradient(ShardedTable& table, const optim::ParamBlock& block, BatchRows& cur) {
  const auto ids0 = batch_ids(world().rank(), 0);
  cur.plan(ids0.data(), ids0.size(), block.shard, 39);
  table.fetch(cur);
  optim::SparseGrad g;
  g.cols = kCols;
  for (uint32_t s = 0; s < cur.size(); ++s) {
    g.rows.push_back(s);
    g.values.insert(g.values.end(), kCols, 1.0f);
  }
  return g;
}

TEST(ShardedTable, FetchesOwnersRowsAndSumsPushesInRankOrder) {
  collective::Comm& c = world();
  const uint32_t P = static_cast<uint32_t>(c.size()), me = static_cast<uint32_t>(c.rank());
  optim::ParamBlock block;
  block.allocate_shard({kRows, me, P}, kCols, true);
  for (size_t l = 0; l < block.rows; ++l)
    for (size_t j = 0; j < kCols; ++j) block.w[l * kCols + j] = initial(block.shard.global(l), j);
  ShardedTable table(c, block);
  optim::OptimizerOptions o;
  o.algorithm = optim::OptimizerOptions::Algorithm::Sgd;
  o.lr = 1.0;
  optim::Optimizer sgd(o);

  BatchRows cur, next;
  const auto ids0 = batch_ids(c.rank(), 0), ids1 = batch_ids(c.rank(), 1);
  cur.plan(ids0.data(), ids0.size(), block.shard, 39);
  table.fetch(cur);
  for (size_t i = 0; i < ids0.size(); ++i)
    for (size_t j = 0; j < kCols; ++j) EXPECT_EQ(cur.rows[cur.slots[i] * kCols + j], initial(ids0[i], j));

  // Gradient of slot s on rank r: (r + 1) / 4 in every column (dyadic: exact sums).
  optim::SparseGrad g;
  g.cols = kCols;
  for (uint32_t s = 0; s < cur.size(); ++s) {
    g.rows.push_back(s);
    g.values.insert(g.values.end(), kCols, static_cast<float>(me + 1) / 4.0f);
  }
  next.plan(ids1.data(), ids1.size(), block.shard, 39);
  sgd.begin_step(1);
  table.push_and_fetch(cur, g, sgd, &next);
  // Expected: initial - sum over ranks that had the id in round 0 of (r + 1) / 4.
  for (size_t i = 0; i < ids1.size(); ++i) {
    float want_delta = 0;
    for (uint32_t r = 0; r < P; ++r) {
      const auto theirs = batch_ids(static_cast<int>(r), 0);
      if (std::find(theirs.begin(), theirs.end(), ids1[i]) != theirs.end())
        want_delta += static_cast<float>(r + 1) / 4.0f;
    }
    for (size_t j = 0; j < kCols; ++j)
      EXPECT_EQ(next.rows[next.slots[i] * kCols + j], initial(ids1[i], j) - want_delta) << "id " << ids1[i];
  }
  EXPECT_EQ(table.stats().steps, 1u);

  // The owner's counts: rows merged = every rank's distinct ids of round 0 that this rank
  // owns; rows served = the same over both fetched batches; rows applied = their union.
  uint64_t merged = 0, served = 0;
  std::set<uint32_t> applied;
  for (uint32_t r = 0; r < P; ++r)
    for (int round : {0, 1}) {
      const auto theirs = batch_ids(static_cast<int>(r), round);
      for (uint32_t id : std::set<uint32_t>(theirs.begin(), theirs.end())) {
        if (id % P != me) continue;
        ++served;
        if (round == 0) ++merged, applied.insert(id);
      }
    }
  EXPECT_EQ(table.stats().rows_merged, merged);
  EXPECT_EQ(table.stats().rows_served, served);
  EXPECT_EQ(table.stats().rows_applied, applied.size());
}

// Any owner update can stand in for the optimizer: it gets the summed rows as local indices.
TEST(ShardedTable, OwnerUpdateGetsTheSummedRowsAsLocalIndices) {
  collective::Comm& c = world();
  const uint32_t P = static_cast<uint32_t>(c.size()), me = static_cast<uint32_t>(c.rank());
  optim::ParamBlock block;
  block.allocate_shard({kRows, me, P}, kCols, true);
  ShardedTable table(c, block);
  BatchRows cur;
  const optim::SparseGrad g = fetch_round0_with_unit_gradient(table, block, cur);
  std::set<uint32_t> want;
  for (uint32_t r = 0; r < P; ++r)
    for (uint32_t id : batch_ids(static_cast<int>(r), 0))
      if (id % P == me) want.insert(static_cast<uint32_t>(block.shard.local(id)));
  int calls = 0;
  table.push_and_fetch(
      cur, g,
      [&](optim::ParamBlock& local, const optim::SparseGrad& summed) {
        ++calls;
        EXPECT_EQ(&local, &block);
        EXPECT_EQ(std::set<uint32_t>(summed.rows.begin(), summed.rows.end()), want);
        EXPECT_EQ(summed.values.size(), summed.rows.size() * kCols);
      },
      nullptr);
  EXPECT_EQ(calls, 1);
}

// Per-row values every rank keeps (embed_sparsity's block sums): after a full replication
// each rank holds every owner's entries; after a push, replicating the updated rows brings
// exactly those rows' new entries to every rank and leaves the others alone.
TEST(ShardedTable, RowValuesReachEveryRankWholeAndAfterAnUpdate) {
  collective::Comm& c = world();
  const uint32_t P = static_cast<uint32_t>(c.size()), me = static_cast<uint32_t>(c.rank());
  optim::ParamBlock block;
  block.allocate_shard({kRows, me, P}, kCols, true);
  ShardedTable table(c, block);
  std::vector<float> values(kRows, -1.0f);  // only this rank's entries are written
  for (size_t l = 0; l < block.rows; ++l)
    values[block.shard.global(l)] = 0.5f * static_cast<float>(block.shard.global(l));
  table.replicate_row_values(values.data());
  for (uint64_t g = 0; g < kRows; ++g) EXPECT_EQ(values[g], 0.5f * static_cast<float>(g)) << "row " << g;

  BatchRows cur;
  const optim::SparseGrad g = fetch_round0_with_unit_gradient(table, block, cur);
  table.push_and_fetch(
      cur, g, [](optim::ParamBlock&, const optim::SparseGrad&) {}, nullptr);
  for (uint32_t l : table.applied_rows()) values[block.shard.global(l)] = 1000.0f + static_cast<float>(l);
  table.replicate_updated_row_values(values.data());
  std::set<uint32_t> updated;  // every rank's round-0 ids
  for (uint32_t r = 0; r < P; ++r)
    for (uint32_t id : batch_ids(static_cast<int>(r), 0)) updated.insert(id);
  for (uint64_t row = 0; row < kRows; ++row) {
    const float want = updated.count(static_cast<uint32_t>(row)) ? 1000.0f + static_cast<float>(row / P)
                                                                 : 0.5f * static_cast<float>(row);
    EXPECT_EQ(values[row], want) << "row " << row;
  }
  EXPECT_EQ(table.stats().values_shared, block.rows + table.applied_rows().size());
}

}  // namespace
}  // namespace sparsetrain::embedding

int main(int argc, char** argv) { return sparsetrain::testing::run_mpi_tests(argc, argv, "sharded_table_mpitest"); }
