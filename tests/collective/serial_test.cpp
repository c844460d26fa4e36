// The collective module without mpirun: the serial Comm stand-in, the auto rule, the
// replica hash. (Multi-rank behaviour: exchange_mpitest.cpp and the *_e2e.sh tests.)
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "sparsetrain/collective/comm.h"
#include "sparsetrain/collective/gradient_exchange.h"
#include "sparsetrain/collective/replica_check.h"

namespace sparsetrain::collective {
namespace {

TEST(SerialComm, IsOneRankWhoseCollectivesAreIdentities) {
  Comm& c = Comm::world();
  ASSERT_FALSE(c.uses_mpi()) << "run without mpirun";
  EXPECT_EQ(c.size(), 1);
  EXPECT_EQ(c.rank(), 0);
  std::vector<float> x = {1.5f, -2.0f};
  c.allreduce_sum(x.data(), x.size());
  EXPECT_EQ(x, (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(c.allgatherv(std::vector<uint32_t>{3, 4}), (std::vector<uint32_t>{3, 4}));
  const uint64_t k[2] = {7, 8};
  EXPECT_EQ(c.allgather(k, 2), (std::vector<uint64_t>{7, 8}));
  EXPECT_EQ(c.bytes_sent(), 0u);
  EXPECT_EQ(c.collectives(), 0u);
}

TEST(SerialComm, ExchangeLeavesGradientsAlone) {
  GradientExchange ex(Comm::world(), ExchangeMode::Dense);
  optim::SparseGrad g{{2, 9}, {1, 2, 3, 4}, 2};
  ex.combine(g, 10);
  EXPECT_EQ(g.rows, (std::vector<uint32_t>{2, 9}));
  EXPECT_EQ(g.values, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(ex.stats().bytes_sent, 0u);
}

TEST(SerialComm, ExchangeRejectsUnsortedRows) {
  GradientExchange ex(Comm::world(), ExchangeMode::Sparse);
  optim::SparseGrad g{{5, 3}, {1, 2}, 1};
  EXPECT_THROW(ex.combine(g, 10), std::logic_error);
  optim::SparseGrad out_of_range{{10}, {1}, 1};
  EXPECT_THROW(ex.combine(out_of_range, 10), std::logic_error);
}

TEST(ExchangeRule, SparseWhileTouchedRowsOverRanksAreBelowTwiceTheRows) {
  EXPECT_EQ(choose_mode(ExchangeMode::Auto, 0, 100), ExchangeMode::Sparse);
  EXPECT_EQ(choose_mode(ExchangeMode::Auto, 199, 100), ExchangeMode::Sparse);
  EXPECT_EQ(choose_mode(ExchangeMode::Auto, 200, 100), ExchangeMode::Dense);  // tie: dense, no merge
  EXPECT_EQ(choose_mode(ExchangeMode::Auto, 300, 100), ExchangeMode::Dense);
  EXPECT_EQ(choose_mode(ExchangeMode::Sparse, 300, 100), ExchangeMode::Sparse);
  EXPECT_EQ(choose_mode(ExchangeMode::Dense, 1, 100), ExchangeMode::Dense);
}

TEST(ReplicaHash, SeesOneUlpAnywhereInTheState) {
  optim::ParamBlock a;  // filled by hand: test_dist links st_collective only, not st_optim
  a.rows = 50;
  a.cols = 7;
  a.w.assign(350, 0.0f);
  a.m = a.v = a.w;
  a.last_step.assign(50, 0);
  for (size_t i = 0; i < a.w.size(); ++i) a.w[i] = a.m[i] = a.v[i] = 0.01f * static_cast<float>(i);
  const uint64_t h = block_state_hash(a);
  EXPECT_EQ(block_state_hash(a), h);
  for (optim::FloatArray* part : {&a.w, &a.m, &a.v}) {
    optim::ParamBlock b = a;
    optim::FloatArray& p = part == &a.w ? b.w : part == &a.m ? b.m : b.v;
    p[123] = std::nextafter(p[123], 1e9f);
    EXPECT_NE(block_state_hash(b), h);
  }
  optim::ParamBlock c = a;
  c.last_step[4] = 1;
  EXPECT_NE(block_state_hash(c), h);
  EXPECT_NO_THROW(verify_replicas(Comm::world(), {a}, 1));  // one rank: nothing to differ from
}

TEST(ReplicaHash, SeesOneBitOfBf16Moments) {
  optim::ParamBlock a;
  a.rows = 5;
  a.cols = 7;  // 35 values: an odd count, so the last half word counts too
  a.w.assign(35, 0.5f);
  a.bf16_moments = true;
  a.m16.assign(35, 0x3f00);
  a.v16.assign(35, 0x3e80);
  a.last_step.assign(5, 0);
  const uint64_t h = block_state_hash(a);
  for (size_t i : {size_t{0}, size_t{17}, size_t{34}}) {
    optim::ParamBlock b = a, c = a;
    b.m16[i] ^= 1;
    c.v16[i] ^= 1;
    EXPECT_NE(block_state_hash(b), h) << i;
    EXPECT_NE(block_state_hash(c), h) << i;
  }
}

}  // namespace
}  // namespace sparsetrain::collective
