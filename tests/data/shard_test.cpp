// Sharding tests: plan_shard's plans, LineSource's line ownership at every possible
// split point, and CriteoReader over 1..5 ranks (one reader per rank, in process)
// covering every row exactly once for one plain file (byte ranges), one gzip file
// (stride), many files (whole files), fewer files than ranks, and a file without a
// trailing newline.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "data_test_util.h"
#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/data/line_source.h"
#include "sparsetrain/data/shard.h"

namespace sparsetrain::data {

// For EXPECT_EQ on plans (internal linkage: test-only).
[[maybe_unused]] static bool operator==(const ShardPiece& a, const ShardPiece& b) {
  return a.file == b.file && a.begin == b.begin && a.end == b.end && a.stride == b.stride && a.phase == b.phase;
}

namespace {

using namespace sparsetrain::data::testing;

ReaderOptions options_for(const std::string& inputs, int rank = 0, int nranks = 1) {
  ReaderOptions o;
  o.inputs = inputs;
  o.rank = rank;
  o.nranks = nranks;
  o.block_bytes = 4096;  // small blocks: many refills, lines across block boundaries
  o.warn = [](const std::string& m) { ADD_FAILURE() << "unexpected warning: " << m; };
  return o;
}

std::vector<Rec> read_all(const ReaderOptions& o, size_t batch_rows = 1000) {
  CriteoReader reader(o);
  Batch b;
  std::vector<Rec> out;
  while (size_t n = reader.next_batch(b, batch_rows)) {
    EXPECT_EQ(n, b.rows);
    for (size_t i = 0; i < n; ++i) out.push_back(rec_of(b, i));
  }
  EXPECT_EQ(reader.stats().rows, out.size());
  EXPECT_EQ(reader.stats().skipped, 0u);
  return out;
}

// Every row of one rank with where it came from: (file, piece begin, line index in piece).
using Key = std::tuple<size_t, uint64_t, uint64_t>;
std::vector<std::pair<Key, Rec>> read_keyed(const ReaderOptions& o) {
  CriteoReader reader(o);
  Batch b;
  std::vector<std::pair<Key, Rec>> out;
  while (reader.next_batch(b, 1) == 1) {
    const ReaderCursor c = reader.cursor();
    const ShardPiece& p = reader.pieces().at(c.piece);
    EXPECT_GE(c.line_index, 1u);
    out.push_back({Key{p.file, p.begin, c.line_index - 1}, rec_of(b, 0)});
  }
  return out;
}

// Reads `inputs` with 1..max_ranks ranks and checks that, ordered by (file, position),
// the union of the ranks' rows is exactly the single-rank read.
void expect_exact_cover(const std::string& inputs, int max_ranks = 5, size_t expected_rows = 0) {
  const std::vector<Rec> whole = read_all(options_for(inputs));
  if (expected_rows) {
    EXPECT_EQ(whole.size(), expected_rows);
  }
  for (int n = 1; n <= max_ranks; ++n) {
    std::vector<std::pair<Key, Rec>> all;
    std::vector<size_t> per_rank;
    for (int r = 0; r < n; ++r) {
      auto part = read_keyed(options_for(inputs, r, n));
      // Each rank's own batched read delivers the same rows in the same order.
      const std::vector<Rec> batched = read_all(options_for(inputs, r, n), 97);
      EXPECT_EQ(batched.size(), part.size()) << "rank " << r << "/" << n;
      for (size_t i = 0; i < std::min(batched.size(), part.size()); ++i)
        ASSERT_EQ(batched[i], part[i].second) << "rank " << r << "/" << n << " row " << i;
      per_rank.push_back(part.size());
      all.insert(all.end(), part.begin(), part.end());
    }
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 1; i < all.size(); ++i) ASSERT_NE(all[i - 1].first, all[i].first) << "row read twice";
    ASSERT_EQ(all.size(), whole.size()) << n << " ranks";
    for (size_t i = 0; i < whole.size(); ++i) ASSERT_EQ(all[i].second, whole[i]) << n << " ranks, row " << i;
    // Every rank gets a reasonable share when there is enough data.
    if (whole.size() >= 1000) {
      for (size_t k : per_rank) EXPECT_GT(k, whole.size() / (2 * n)) << n << " ranks";
    }
  }
}

// ---------------------------------------------------------------------------
// plan_shard
// ---------------------------------------------------------------------------

TEST(PlanShard, WholeFilesWhenAtLeastAsManyFilesAsRanks) {
  std::vector<InputFile> files;
  const uint64_t sizes[] = {100, 50, 300, 10, 0, 75, 300};
  for (size_t i = 0; i < 7; ++i) files.push_back({"f" + std::to_string(i), sizes[i], i % 2 == 1});
  for (int n = 1; n <= 7; ++n) {
    std::vector<int> owner(files.size(), -1);
    std::vector<uint64_t> load(static_cast<size_t>(n), 0);
    for (int r = 0; r < n; ++r) {
      const auto pieces = plan_shard(files, r, n);
      EXPECT_FALSE(pieces.empty()) << "rank " << r << " of " << n << " gets nothing";
      EXPECT_EQ(pieces, plan_shard(files, r, n)) << "plans are deterministic";
      size_t last = 0;
      for (size_t k = 0; k < pieces.size(); ++k) {
        const ShardPiece& p = pieces[k];
        if (k) {
          EXPECT_GT(p.file, last) << "pieces in file order";
        }
        last = p.file;
        EXPECT_EQ(p.begin, 0u);
        EXPECT_EQ(p.end, files[p.file].size);
        EXPECT_EQ(p.stride, 1u);
        EXPECT_EQ(p.phase, 0u);
        EXPECT_EQ(owner[p.file], -1) << "file " << p.file << " given twice";
        owner[p.file] = r;
        load[static_cast<size_t>(r)] += files[p.file].size;
      }
    }
    for (int o : owner) EXPECT_GE(o, 0);
    // Greedy largest-first: no rank exceeds the average by more than the largest file.
    const uint64_t total = 835;
    for (uint64_t l : load) EXPECT_LE(l, total / static_cast<uint64_t>(n) + 300) << n;
  }
}

TEST(PlanShard, ByteRangesAndStridesWhenFewerFilesThanRanks) {
  std::vector<InputFile> files = {{"a.tsv", 1001, false}, {"b.tsv.gz", 500, true}};
  for (int n = 3; n <= 6; ++n) {
    uint64_t expect_begin = 0;
    for (int r = 0; r < n; ++r) {
      const auto pieces = plan_shard(files, r, n);
      ASSERT_EQ(pieces.size(), 2u);
      EXPECT_EQ(pieces[0].file, 0u);
      EXPECT_EQ(pieces[0].begin, expect_begin) << "ranges are contiguous";
      EXPECT_GE(pieces[0].end, pieces[0].begin);
      EXPECT_EQ(pieces[0].stride, 1u);
      expect_begin = pieces[0].end;
      EXPECT_EQ(pieces[1].file, 1u);
      EXPECT_EQ(pieces[1].begin, 0u);
      EXPECT_EQ(pieces[1].end, 500u);
      EXPECT_EQ(pieces[1].stride, static_cast<uint32_t>(n));
      EXPECT_EQ(pieces[1].phase, static_cast<uint32_t>(r));
    }
    EXPECT_EQ(expect_begin, 1001u) << "ranges end at the file size";
  }
  EXPECT_THROW(plan_shard(files, 3, 3), std::invalid_argument);
  EXPECT_THROW(plan_shard(files, -1, 3), std::invalid_argument);
  EXPECT_THROW(plan_shard(files, 0, 0), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// LineSource: a line belongs to the piece its first byte lies in, at every split.
// ---------------------------------------------------------------------------

std::vector<std::string> piece_lines(const InputFile& f, uint64_t begin, uint64_t end,
                                     std::vector<uint64_t>* numbers = nullptr) {
  ShardPiece p{0, begin, end, 1, 0};
  LineSource src(f, p, 4096);
  std::vector<std::string> out;
  const char* line;
  size_t len;
  for (;;) {
    const auto st = src.next(line, len);
    if (st == LineSource::Status::End) break;
    EXPECT_EQ(st, LineSource::Status::Line);
    out.emplace_back(line, len);
    if (numbers) numbers->push_back(src.file_line_number());
  }
  return out;
}

void check_every_split(const std::string& content, const std::string& path) {
  write_file(path, content);
  const InputFile f{path, content.size(), false};
  // Expected lines: split on '\n'; a final line without newline counts, a trailing '\n' adds none.
  std::vector<std::string> expected;
  size_t start = 0;
  while (start < content.size()) {
    size_t nl = content.find('\n', start);
    if (nl == std::string::npos) nl = content.size();
    expected.push_back(content.substr(start, nl - start));
    start = nl + 1;
  }
  ASSERT_EQ(piece_lines(f, 0, content.size()), expected);
  for (uint64_t s = 0; s <= content.size(); ++s) {
    std::vector<uint64_t> na, nb;
    auto a = piece_lines(f, 0, s, &na);
    auto b = piece_lines(f, s, content.size(), &nb);
    const size_t na_lines = a.size();
    a.insert(a.end(), b.begin(), b.end());
    ASSERT_EQ(a, expected) << "split at byte " << s;
    // 1-based file line numbers continue across the split.
    for (size_t i = 0; i < na.size(); ++i) ASSERT_EQ(na[i], i + 1);
    for (size_t i = 0; i < nb.size(); ++i) ASSERT_EQ(nb[i], na_lines + i + 1) << "split at " << s;
  }
  // Three-way splits around every line start.
  for (uint64_t s = 1; s + 1 < content.size(); s += 3) {
    for (uint64_t t = s; t <= std::min<uint64_t>(content.size(), s + 40); t += 5) {
      auto a = piece_lines(f, 0, s);
      auto b = piece_lines(f, s, t);
      auto c = piece_lines(f, t, content.size());
      a.insert(a.end(), b.begin(), b.end());
      a.insert(a.end(), c.begin(), c.end());
      ASSERT_EQ(a, expected) << s << " " << t;
    }
  }
}

TEST(LineSourceSplit, EveryByteSplitOwnsEachLineOnce) {
  TempDir dir;
  check_every_split("alpha\nb\n\nccc\nlonger line here\nx\n\n\nlast\n", dir.file("a.txt"));
  check_every_split("alpha\nb\n\nccc\nlonger line here\nx\n\n\nlast-no-newline", dir.file("b.txt"));
  check_every_split("\n\n\n", dir.file("c.txt"));
  check_every_split("single", dir.file("d.txt"));
  // Lines longer than the 4096-byte block.
  check_every_split(std::string(5000, 'a') + "\nb\n" + std::string(9000, 'c') + "\nd", dir.file("e.txt"));
}

// ---------------------------------------------------------------------------
// CriteoReader over 1..5 ranks.
// ---------------------------------------------------------------------------

TEST(ShardCoverage, SinglePlainFileByteRanges) {
  expect_exact_cover(kFixture, 5, 8087);
  expect_exact_cover(std::string(ST_TEST_DATA_DIR) + "/criteo_sample_test.tsv", 5, 1617);
}

// Lines of equal length and a row count divisible by 1..5 (60): every range boundary
// falls exactly on a line start, and that line belongs to the later range. `first_width`
// changes the width of row 0's I1 (5 = all rows equal) to move every boundary by a byte.
std::string equal_rows(int first_width, size_t* line_len) {
  std::string content;
  for (int i = 0; i < 60; ++i) {
    char buf[512];
    int n = std::snprintf(buf, sizeof buf, "%d", i % 3 == 0);
    for (int f = 0; f < 13; ++f)
      n += std::snprintf(buf + n, sizeof buf - n, "\t%0*d", (i == 0 && f == 0) ? first_width : 5,
                         (i * 131 + f * 17) % 10000);
    for (int f = 0; f < 26; ++f)
      n += std::snprintf(buf + n, sizeof buf - n, "\t%08x", static_cast<unsigned>((i + 1) * 2654435761u ^ f));
    buf[n++] = '\n';
    if (i == 1) *line_len = static_cast<size_t>(n);
    content.append(buf, static_cast<size_t>(n));
  }
  return content;
}

TEST(ShardCoverage, RangesStartingExactlyAtLineStarts) {
  TempDir dir;
  size_t line_len = 0;
  const std::string path = dir.file("equal.tsv");
  write_file(path, equal_rows(5, &line_len));
  for (int n = 1; n <= 5; ++n) {
    for (int r = 0; r < n; ++r) {
      const auto pieces = plan_shard(expand_inputs(path), r, n);
      ASSERT_EQ(pieces.size(), 1u);
      EXPECT_EQ(pieces[0].begin % line_len, 0u) << "boundary at a line start";
      EXPECT_EQ(read_all(options_for(path, r, n)).size(), static_cast<size_t>(60 / n)) << r << "/" << n;
    }
  }
  expect_exact_cover(path, 5, 60);
  // First row one byte longer: every boundary (r > 0) lands on the '\n' ending the previous
  // row, so the range owns the row starting right after it.
  const std::string at_newline = dir.file("at_newline.tsv");
  write_file(at_newline, equal_rows(6, &line_len));
  for (int n = 2; n <= 5; ++n) {
    for (int r = 1; r < n; ++r) {
      const auto pieces = plan_shard(expand_inputs(at_newline), r, n);
      EXPECT_EQ(pieces[0].begin % line_len, 0u);  // = (row start) - 1: the previous row's newline
      EXPECT_EQ(read_all(options_for(at_newline, r, n)).size(), static_cast<size_t>(60 / n)) << r << "/" << n;
    }
  }
  expect_exact_cover(at_newline, 5, 60);
  // First row one byte shorter: boundaries land exactly on line starts again, shifted by one.
  const std::string shorter = dir.file("shorter.tsv");
  write_file(shorter, equal_rows(4, &line_len));
  expect_exact_cover(shorter, 5, 60);
  // 61 rows: boundaries inside rows.
  const std::string odd = dir.file("odd.tsv");
  const std::string c = equal_rows(5, &line_len);
  write_file(odd, c.substr(line_len, line_len) + c);
  expect_exact_cover(odd, 5, 61);
}

TEST(ShardCoverage, SingleGzipFileStride) {
  TempDir dir;
  const std::string gz = dir.file("sample.tsv.gz");
  write_gzip(gz, slurp(kFixture));
  for (int n = 2; n <= 5; ++n) {
    const auto pieces = plan_shard(expand_inputs(gz), 1, n);
    ASSERT_EQ(pieces.size(), 1u);
    EXPECT_EQ(pieces[0].stride, static_cast<uint32_t>(n));
  }
  expect_exact_cover(gz, 5, 8087);
  // The stride is by physical line: rank r of n has rows r, r+n, r+2n ...
  const std::vector<Rec> whole = read_all(options_for(gz));
  for (int n : {3, 5}) {
    for (int r = 0; r < n; ++r) {
      const std::vector<Rec> part = read_all(options_for(gz, r, n));
      ASSERT_EQ(part.size(), (whole.size() - static_cast<size_t>(r) + n - 1) / static_cast<size_t>(n));
      for (size_t i = 0; i < part.size(); ++i) ASSERT_EQ(part[i], whole[static_cast<size_t>(r) + i * n]);
    }
  }
}

// Splits the fixture into `k` files of uneven sizes (some gzip) and returns "a,b,...".
std::string split_fixture(const TempDir& dir, size_t k, bool with_gzip, const std::string& stem) {
  const std::string content = slurp(kFixture);
  std::vector<size_t> starts = {0};
  size_t pos = 0;
  for (size_t i = 1; i < k; ++i) {
    // Uneven: file i gets roughly i+1 shares.
    size_t target = content.size() * (i * (i + 1) / 2) / (k * (k + 1) / 2);
    target = std::max(target, pos + 1);
    pos = content.find('\n', target) + 1;
    starts.push_back(pos);
  }
  starts.push_back(content.size());
  std::string inputs;
  for (size_t i = 0; i < k; ++i) {
    const std::string part = content.substr(starts[i], starts[i + 1] - starts[i]);
    const bool gz = with_gzip && i % 3 == 1;
    const std::string path = dir.file(stem + "_" + std::to_string(i) + (gz ? ".tsv.gz" : ".tsv"));
    if (gz)
      write_gzip(path, part);
    else
      write_file(path, part);
    if (i) inputs += ",";
    inputs += path;
  }
  return inputs;
}

TEST(ShardCoverage, ManyFilesWholeFiles) {
  TempDir dir;
  const std::string inputs = split_fixture(dir, 7, true, "part");
  expect_exact_cover(inputs, 5, 8087);
  // The same via a glob (sorted; file names sort in order).
  const std::string glob = dir.file("part_*");
  CriteoReader reader(options_for(glob));
  EXPECT_EQ(reader.files().size(), 7u);
  for (int n = 1; n <= 5; ++n) {
    size_t pieces = 0;
    for (int r = 0; r < n; ++r) {
      CriteoReader rr(options_for(inputs, r, n));
      for (const ShardPiece& p : rr.pieces()) {
        EXPECT_EQ(p.begin, 0u);
        EXPECT_EQ(p.stride, 1u);
      }
      pieces += rr.pieces().size();
    }
    EXPECT_EQ(pieces, 7u);
  }
}

TEST(ShardCoverage, FewerFilesThanRanksMixedPlainAndGzip) {
  TempDir dir;
  const std::string inputs = split_fixture(dir, 3, true, "few");  // part 1 is gzip
  expect_exact_cover(inputs, 5, 8087);
}

TEST(ShardCoverage, FileWithoutTrailingNewline) {
  TempDir dir;
  std::string content = slurp(kFixture);
  ASSERT_EQ(content.back(), '\n');
  content.pop_back();
  const std::string plain = dir.file("nonl.tsv");
  const std::string gz = dir.file("nonl.tsv.gz");
  write_file(plain, content);
  write_gzip(gz, content);
  expect_exact_cover(plain, 5, 8087);
  expect_exact_cover(gz, 5, 8087);
  // The last row is the real last row, not lost or cut.
  const auto a = read_all(options_for(plain));
  const auto b = read_all(options_for(kFixture));
  EXPECT_EQ(a, b);
}

TEST(ShardCoverage, TinyFileManyRanks) {
  TempDir dir;
  const std::vector<std::string> lines = [] {
    std::ifstream in(kFixture);
    std::vector<std::string> v;
    std::string l;
    for (int i = 0; i < 2 && std::getline(in, l); ++i) v.push_back(l);
    return v;
  }();
  const std::string path = dir.file("two.tsv");
  write_file(path, lines[0] + "\n" + lines[1] + "\n");
  expect_exact_cover(path, 5, 2);
  const std::string empty = dir.file("empty.tsv");
  write_file(empty, "");
  for (int n = 1; n <= 3; ++n)
    for (int r = 0; r < n; ++r) EXPECT_TRUE(read_all(options_for(empty, r, n)).empty());
}

}  // namespace
}  // namespace sparsetrain::data
