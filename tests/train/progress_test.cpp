// Progress lines: the run's share done (epochs or max_steps, whichever ends it first), the
// ETA, and the text a person reads.
#include "sparsetrain/train/progress.h"

#include <gtest/gtest.h>

using namespace sparsetrain::train;

TEST(Progress, EpochsAndShardGiveTheRunFractionAndEta) {
  // Second of two epochs, 50% of the shard read, 30 minutes in: 75% done, 10 minutes left.
  const Progress p = make_progress(1, 2, 0.5, 100, 0, 1800);
  EXPECT_DOUBLE_EQ(p.run_fraction, 0.75);
  EXPECT_DOUBLE_EQ(p.eta_s, 600);
  EXPECT_EQ(progress_line(p, 271400, 0.45123),
            "epoch 2/2 | 50.0% | 30m00s elapsed | ETA 10m00s | 271k samples/s | loss 0.4512");
}

TEST(Progress, MaxStepsEndsTheRunFirst) {
  // One epoch of which 10% is read, but max_steps stops at step 400 of which 200 are done.
  const Progress p = make_progress(0, 1, 0.1, 200, 400, 60);
  EXPECT_DOUBLE_EQ(p.run_fraction, 0.5);
  EXPECT_DOUBLE_EQ(p.eta_s, 60);
}

TEST(Progress, NothingDoneYetHasNoEta) {
  const Progress p = make_progress(0, 3, 0.0, 0, 0, 5);
  EXPECT_LT(p.eta_s, 0);
  EXPECT_NE(progress_line(p, 0, 0.69).find("ETA ?"), std::string::npos);
  EXPECT_NE(progress_json_fields(p).find("\"eta_s\":null"), std::string::npos);
}

TEST(Progress, EpochAndFractionAreClamped) {
  // The reader may be a batch ahead, past the last epoch or past its shard's end.
  const Progress p = make_progress(5, 2, 1.3, 10, 0, 100);
  EXPECT_EQ(p.epoch, 1);
  EXPECT_DOUBLE_EQ(p.shard_fraction, 1.0);
  EXPECT_DOUBLE_EQ(p.run_fraction, 1.0);
  EXPECT_DOUBLE_EQ(p.eta_s, 0);
}

TEST(Progress, DurationsAndRatesReadAsAPersonWritesThem) {
  EXPECT_EQ(duration_text(45), "45s");
  EXPECT_EQ(duration_text(245), "4m05s");
  EXPECT_EQ(duration_text(3720), "1h02m");
  EXPECT_EQ(duration_text(3 * 86400 + 4 * 3600 + 59), "3d04h");
  EXPECT_EQ(duration_text(-1), "?");
  EXPECT_EQ(rate_text(950), "950");
  EXPECT_EQ(rate_text(27140), "27.1k");
  EXPECT_EQ(rate_text(271400), "271k");
  EXPECT_EQ(rate_text(1.2e6), "1.20M");
}

TEST(Progress, JsonFieldsCarryTheSameFigures) {
  const Progress p = make_progress(0, 2, 0.372, 10, 0, 3720);
  EXPECT_EQ(progress_json_fields(p),
            ",\"epoch\":1,\"epochs\":2,\"shard_read\":0.3720,\"elapsed_s\":3720.0,\"eta_s\":16280.0");
}
