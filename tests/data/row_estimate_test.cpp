// data::estimate_rows: exact counts for files its sample covers (plain, gzip, no trailing
// newline, empty), and estimates within the documented error for files it does not.
#include "sparsetrain/data/row_estimate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data_test_util.h"

namespace sparsetrain::data {
namespace {

using testing::TempDir;

std::vector<InputFile> inputs(const std::vector<std::string>& paths) {
  std::string joined;
  for (const auto& p : paths) joined += (joined.empty() ? "" : ",") + p;
  return expand_inputs(joined);
}

std::string repeated_fixture(int copies) {
  const std::string one = testing::slurp(testing::kFixture);
  std::string all;
  for (int i = 0; i < copies; ++i) all += one;
  return all;
}

TEST(EstimateRows, CountsFilesTheSampleCoversExactly) {
  TempDir dir;
  const std::string text = testing::slurp(testing::kFixture);  // 8,087 real Criteo rows
  testing::write_gzip(dir.file("a.gz"), text);
  testing::write_file(dir.file("tail.tsv"), "1\t2\n0\t3");  // no newline after the last row
  testing::write_file(dir.file("empty.tsv"), "");
  const RowEstimate plain = estimate_rows(inputs({testing::kFixture}));
  EXPECT_EQ(plain.rows, 8087u);
  EXPECT_TRUE(plain.exact);
  const RowEstimate gz = estimate_rows(inputs({dir.file("a.gz")}));
  EXPECT_EQ(gz.rows, 8087u);
  EXPECT_TRUE(gz.exact);
  EXPECT_EQ(estimate_rows(inputs({dir.file("tail.tsv")})).rows, 2u);
  EXPECT_EQ(estimate_rows(inputs({dir.file("empty.tsv")})).rows, 0u);
  const RowEstimate all =
      estimate_rows(inputs({testing::kFixture, dir.file("a.gz"), dir.file("tail.tsv"), dir.file("empty.tsv")}));
  EXPECT_EQ(all.rows, 16176u);
  EXPECT_TRUE(all.exact);
}

// Members of gzip files joined with cat (as split-and-compress tools write them), and bytes
// after the last member (gzread ignores them): every member's lines count.
TEST(EstimateRows, CountsEveryMemberOfAGzipFile) {
  TempDir dir;
  const std::string text = testing::slurp(testing::kFixture);
  testing::write_gzip(dir.file("a.gz"), text);
  testing::write_gzip(dir.file("b.gz"), "1\t2\n0\t3");
  const std::string joined = testing::slurp(dir.file("a.gz")) + testing::slurp(dir.file("b.gz"));
  testing::write_file(dir.file("joined.gz"), joined);
  EXPECT_EQ(estimate_rows(inputs({dir.file("joined.gz")})).rows, 8089u);
  testing::write_file(dir.file("trailing.gz"), joined + std::string(100, '\0'));
  EXPECT_EQ(estimate_rows(inputs({dir.file("trailing.gz")})).rows, 8089u);
  // Estimated from the first of two large members: the scale holds across the join.
  const std::string big = repeated_fixture(8);
  testing::write_gzip(dir.file("c.gz"), big);
  testing::write_file(dir.file("two.gz"), testing::slurp(dir.file("c.gz")) + testing::slurp(dir.file("c.gz")));
  const RowEstimate two = estimate_rows(inputs({dir.file("two.gz")}), uint64_t{8} << 20);
  EXPECT_FALSE(two.exact);
  EXPECT_NEAR(static_cast<double>(two.rows), 2 * 64696.0, 0.01 * 2 * 64696);
}

// A damaged stream is reported with the file's name (the reader would fail on it too).
TEST(EstimateRows, NamesACorruptGzipFile) {
  TempDir dir;
  testing::write_gzip(dir.file("a.gz"), testing::slurp(testing::kFixture));
  std::string bytes = testing::slurp(dir.file("a.gz"));
  for (size_t i = 100; i < 400; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  testing::write_file(dir.file("bad.gz"), bytes);
  try {
    estimate_rows(inputs({dir.file("bad.gz")}));
    FAIL() << "no error for a corrupt gzip file";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.gz"), std::string::npos) << e.what();
  }
}

TEST(EstimateRows, EstimatesLongerFilesFromTheirHead) {
  TempDir dir;
  const std::string text = repeated_fixture(16);  // 129,392 rows, 31 MB
  testing::write_file(dir.file("big.tsv"), text);
  testing::write_gzip(dir.file("big.gz"), text);
  const uint64_t sample = uint64_t{8} << 20;
  const RowEstimate plain = estimate_rows(inputs({dir.file("big.tsv")}), sample);
  EXPECT_FALSE(plain.exact);
  EXPECT_NEAR(static_cast<double>(plain.rows), 129392.0, 0.01 * 129392);
  // gzip: the lines of exactly the compressed bytes read (before, zlib's 512 KiB output buffer
  // lay beyond the lines counted: 6% low here).
  const RowEstimate gz = estimate_rows(inputs({dir.file("big.gz")}), sample);
  EXPECT_FALSE(gz.exact);
  EXPECT_NEAR(static_cast<double>(gz.rows), 129392.0, 0.01 * 129392);
  // One estimated file makes the total an estimate.
  const RowEstimate both = estimate_rows(inputs({testing::kFixture, dir.file("big.tsv")}), sample);
  EXPECT_EQ(both.rows, 8087 + plain.rows);
  EXPECT_FALSE(both.exact);
  // The default sample (32 MiB) covers the whole 31 MB file: exact.
  EXPECT_EQ(estimate_rows(inputs({dir.file("big.tsv")})).rows, 129392u);
}

}  // namespace
}  // namespace sparsetrain::data
