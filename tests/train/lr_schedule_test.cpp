// train::run_length_steps and schedule_change_note: how long the linear fall is, and what a
// resume with other settings says about the rate it trains at.
#include "sparsetrain/train/lr_schedule.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sparsetrain/cli/config.h"

namespace sparsetrain::train {
namespace {

using cli::parse_args;

TEST(RunLengthSteps, RowsTimesEpochsOverTheBatch) {
  using cli::parse_args;
  const cli::Config one = parse_args({"--train.batch_size", "1024"}).config;
  EXPECT_EQ(run_length_steps(one, 500000), 489u);  // 488.3: the last batch is partial
  EXPECT_EQ(run_length_steps(one, 1024 * 3), 3u);
  EXPECT_EQ(run_length_steps(one, 0), 0u);
  const cli::Config three = parse_args({"--train.batch_size", "1024", "--train.epochs", "3"}).config;
  EXPECT_EQ(run_length_steps(three, 500000), 1467u);  // 3 x 489: each epoch ends on a part batch
  // train.max_steps stops a run but is not its schedule's length (a resume without it
  // continues the same schedule).
  const cli::Config capped = parse_args({"--train.batch_size", "1024", "--train.max_steps", "100"}).config;
  EXPECT_EQ(run_length_steps(capped, 500000), 489u);
  // Criteo 1TB's 4.4 billion rows x 1000 epochs does not overflow.
  const cli::Config big = parse_args({"--train.batch_size", "1", "--train.epochs", "1000"}).config;
  EXPECT_EQ(run_length_steps(big, 4400000000ULL), 4400000000000ULL);
}

// 8,087 rows in batches of 1,024: 8 steps per epoch.
const std::vector<data::InputFile> kRows8087 =
    data::expand_inputs(std::string(ST_TEST_DATA_DIR) + "/criteo_kaggle_head8k.tsv");

cli::Config config(std::vector<std::string> args) {
  args.insert(args.end(), {"--train.batch_size", "1024"});
  return parse_args(args).config;
}

TEST(ScheduleChangeNote, SilentWhenTheRateIsUnchanged) {
  EXPECT_EQ(schedule_change_note(config({}), config({}), kRows8087, 4), "");
  // A second epoch with the fall pinned to the first run's length: the same rates.
  EXPECT_EQ(
      schedule_change_note(config({}), config({"--train.epochs", "3", "--optim.schedule_steps", "8"}), kRows8087, 4),
      "");
  // Settings that do not touch the rate.
  EXPECT_EQ(
      schedule_change_note(config({}), config({"--train.max_steps", "6", "--train.log_every", "2"}), kRows8087, 4), "");
  // Both falls have ended: both runs train at lr x lr_final from here on.
  EXPECT_EQ(schedule_change_note(config({"--optim.schedule_steps", "4"}), config({"--optim.schedule_steps", "6"}),
                                 kRows8087, 10),
            "");
}

TEST(ScheduleChangeNote, NamesTheMovedEndOfTheFall) {
  // 1 epoch (the fall ends at step 8) resumed after step 4 with 3 epochs (ends at 24):
  // step 5 was to train at 0.001 x (1 - 0.9 x 5/8), now at 0.001 x (1 - 0.9 x 5/24).
  const std::string note = schedule_change_note(config({}), config({"--train.epochs", "3"}), kRows8087, 4);
  EXPECT_NE(note.find("step 5 at learning rate 0.0008125"), std::string::npos) << note;
  EXPECT_NE(note.find("would have used 0.0004375"), std::string::npos) << note;
  EXPECT_NE(note.find("ended at step 8, this run's at step 24"), std::string::npos) << note;
  EXPECT_NE(note.find("--optim.schedule_steps 8 keeps"), std::string::npos) << note;
  // To a constant rate: no optim.schedule_steps to suggest.
  const std::string flat = schedule_change_note(config({}), config({"--optim.lr_schedule", "constant"}), kRows8087, 4);
  EXPECT_NE(flat.find("this run's does not fall"), std::string::npos) << flat;
  EXPECT_EQ(flat.find("schedule_steps"), std::string::npos) << flat;
}

TEST(ScheduleChangeNote, NamesAChangedConstantRate) {
  const auto before = config({"--optim.lr_schedule", "constant"});
  const auto now = config({"--optim.lr_schedule", "constant", "--optim.lr", "0.002"});
  const std::string note = schedule_change_note(before, now, kRows8087, 4);
  EXPECT_NE(note.find("learning rate 0.002; the checkpointed run would have used 0.001"), std::string::npos) << note;
  EXPECT_EQ(note.find("fall"), std::string::npos) << note;
}

}  // namespace
}  // namespace sparsetrain::train
