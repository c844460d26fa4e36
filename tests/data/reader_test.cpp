// CriteoReader tests: the shipped sample end to end, every malformed-input case
// through temp files (messages name file, 1-based line and field; counts by kind;
// no good row lost; fail mode; warning limit), CRLF, empty lines, over-long lines,
// truncated gzip, missing inputs, gzip == plain, cursor save / seek / resume, and
// batches parsed in parallel equal to one thread's (rows, warnings, cursors).
#include <gtest/gtest.h>
#include <omp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "data_test_util.h"
#include "sparsetrain/data/criteo_reader.h"

namespace sparsetrain::data {
namespace {

using namespace sparsetrain::data::testing;

const std::vector<std::string>& fixture_lines() {
  static const std::vector<std::string> lines = read_lines(kFixture);
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines, const std::string& eol = "\n") {
  std::string s;
  for (const auto& l : lines) s += l + eol;
  return s;
}

// Fixture row `i` with column `col` (0 label, 1..13 I, 14..39 C) replaced.
std::string row_with(size_t i, int col, const std::string& value) {
  std::vector<std::string> cols = split_tabs(fixture_lines().at(i));
  cols.at(static_cast<size_t>(col)) = value;
  std::string s;
  for (size_t k = 0; k < cols.size(); ++k) s += (k ? "\t" : "") + cols[k];
  return s;
}

struct Captured {
  std::vector<std::string> warnings;
};

ReaderOptions opts(const std::string& inputs, Captured* cap = nullptr, int rank = 0, int nranks = 1) {
  ReaderOptions o;
  o.inputs = inputs;
  o.rank = rank;
  o.nranks = nranks;
  o.block_bytes = 4096;
  o.max_warnings = 1000;
  if (cap) {
    o.warn = [cap](const std::string& m) { cap->warnings.push_back(m); };
  } else {
    o.warn = [](const std::string& m) { ADD_FAILURE() << "unexpected warning: " << m; };
  }
  return o;
}

std::vector<Rec> drain(CriteoReader& reader, size_t batch_rows = 500) {
  Batch b;
  std::vector<Rec> out;
  while (size_t n = reader.next_batch(b, batch_rows)) {
    for (size_t i = 0; i < n; ++i) out.push_back(rec_of(b, i));
  }
  return out;
}

std::vector<Rec> read_all(const ReaderOptions& o, size_t batch_rows = 500) {
  CriteoReader reader(o);
  return drain(reader, batch_rows);
}

// Records of the given fixture rows, read through a clean file (the reference).
std::vector<Rec> reference(const TempDir& dir, const std::vector<std::string>& good_lines) {
  const std::string path = dir.file("reference.tsv");
  write_file(path, join_lines(good_lines));
  return read_all(opts(path));
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------

TEST(Reader, ShippedSampleEndToEnd) {
  CriteoReader reader(opts(kFixture));
  Batch b;
  size_t rows = 0, pos = 0, neg = 0, batches = 0;
  while (size_t n = reader.next_batch(b, 1000)) {
    ++batches;
    ASSERT_EQ(b.rows, n);
    ASSERT_EQ(b.ids.size(), n * 39);
    ASSERT_EQ(b.dense.size(), n * 13);
    ASSERT_EQ(b.labels.size(), n);
    for (size_t i = 0; i < n; ++i) {
      pos += b.labels[i] == 1.0f;
      neg += b.labels[i] == 0.0f;
      for (size_t k = 0; k < 39; ++k) ASSERT_LT(b.ids[i * 39 + k], 1u << 20);
    }
    rows += n;
  }
  EXPECT_EQ(rows, 8087u);
  EXPECT_EQ(batches, 9u);
  EXPECT_EQ(pos, 1747u);
  EXPECT_EQ(neg, 6340u);
  EXPECT_EQ(reader.stats().rows, 8087u);
  EXPECT_EQ(reader.stats().skipped, 0u);
  EXPECT_EQ(reader.stats().crlf_rows, 0u);
  EXPECT_EQ(reader.stats().bytes, std::filesystem::file_size(kFixture));
  EXPECT_EQ(reader.summary(), "rows=8087 skipped=0 crlf_rows=0");
  EXPECT_EQ(reader.next_batch(b, 1000), 0u) << "stays at the end";
  EXPECT_EQ(b.rows, 0u);

  // Row 1's ids are the featurizer's ids for the hand-parsed row.
  CriteoReader again(opts(kFixture));
  ASSERT_EQ(again.next_batch(b, 1), 1u);
  CriteoRow row;
  ParseFailure f;
  const std::string l0 = fixture_lines()[0];
  ASSERT_TRUE(parse_criteo_line(l0.data(), l0.size(), LabelMode::Required, row, f));
  uint32_t ids[39];
  float dense[13];
  again.featurizer().featurize(row, ids, dense);
  for (int k = 0; k < 39; ++k) EXPECT_EQ(b.ids[k], ids[k]);
  for (int k = 0; k < 13; ++k) EXPECT_EQ(b.dense[k], dense[k]);
  EXPECT_EQ(b.labels[0], 0.0f);

  // rewind: the next epoch is the same data.
  const std::vector<Rec> first = drain(again);
  again.rewind();
  const std::vector<Rec> second = drain(again);
  EXPECT_EQ(second.size(), 8087u);
  EXPECT_EQ(std::vector<Rec>(second.begin() + 1, second.end()), first);
}

TEST(Reader, TrainTestSplitAndDenseOff) {
  ReaderOptions o =
      opts(std::string(ST_TEST_DATA_DIR) + "/criteo_sample_train.tsv," + ST_TEST_DATA_DIR + "/criteo_sample_test.tsv");
  const auto both = read_all(o);
  const auto all = read_all(opts(kFixture));
  EXPECT_EQ(both, all) << "train + test = the whole sample";
  ReaderOptions nd = opts(kFixture);
  nd.featurizer.dense_features = false;
  CriteoReader reader(nd);
  Batch b;
  ASSERT_EQ(reader.next_batch(b, 100), 100u);
  EXPECT_TRUE(b.dense.empty());
}

// One malformed line and what the reader must say about it.
struct BadCase {
  std::string line;
  RowError kind;
  std::string field;   // "field I3", or "" for whole-line errors
  std::string detail;  // a piece of the message
};

std::vector<BadCase> bad_cases() {
  const std::string r = fixture_lines()[5];
  return {
      {r.substr(0, r.rfind('\t')), RowError::ColumnCount, "", "found 39"},
      {r + "\t00ff00ff", RowError::ColumnCount, "", "found 41"},
      {row_with(6, 3, "abc"), RowError::BadInteger, "field I3", "not an integer: 'abc'"},
      {row_with(7, 5, "12.5"), RowError::BadInteger, "field I5", "'12.5'"},
      {row_with(8, 13, "1234567890123456789"), RowError::BadInteger, "field I13", "too long"},
      {row_with(9, 20, "zz12"), RowError::BadCategorical, "field C7", "not hexadecimal: 'zz12'"},
      {row_with(10, 39, "123456789"), RowError::BadCategorical, "field C26", "longer than 8 hex digits"},
      {row_with(11, 0, "2"), RowError::BadLabel, "field label", "found '2'"},
      {row_with(12, 0, ""), RowError::BadLabel, "field label", "found ''"},
      {row_with(13, 0, "0.5"), RowError::BadLabel, "field label", "found '0.5'"},
  };
}

TEST(Reader, BadRowsSkippedWithFileLineFieldAndNoGoodRowLost) {
  TempDir dir;
  const auto cases = bad_cases();
  // Layout: 2 empty lines, then good rows with a bad row after every third good row.
  std::vector<std::string> lines = {"", ""};
  std::vector<std::string> good;
  std::vector<size_t> bad_line_numbers;  // 1-based
  size_t next_good = 100;
  for (const BadCase& c : cases) {
    for (int k = 0; k < 3; ++k) {
      good.push_back(fixture_lines()[next_good++]);
      lines.push_back(good.back());
    }
    lines.push_back(c.line);
    bad_line_numbers.push_back(lines.size());
  }
  lines.push_back("");  // a trailing empty line too
  for (int k = 0; k < 5; ++k) {
    good.push_back(fixture_lines()[next_good++]);
    lines.push_back(good.back());
  }
  const std::string path = dir.file("bad.tsv");
  write_file(path, join_lines(lines));
  const std::vector<Rec> expected = reference(dir, good);

  for (size_t batch_rows : {1u, 4u, 1000u}) {
    Captured cap;
    CriteoReader reader(opts(path, &cap));
    const std::vector<Rec> got = drain(reader, batch_rows);
    ASSERT_EQ(got, expected) << "good rows delivered, in order (batch " << batch_rows << ")";
    const ReaderStats& s = reader.stats();
    EXPECT_EQ(s.rows, good.size());
    EXPECT_EQ(s.skipped, cases.size() + 3);
    EXPECT_EQ(s.skipped_by_kind[static_cast<int>(RowError::EmptyLine)], 3u);
    EXPECT_EQ(s.skipped_by_kind[static_cast<int>(RowError::ColumnCount)], 2u);
    EXPECT_EQ(s.skipped_by_kind[static_cast<int>(RowError::BadInteger)], 3u);
    EXPECT_EQ(s.skipped_by_kind[static_cast<int>(RowError::BadCategorical)], 2u);
    EXPECT_EQ(s.skipped_by_kind[static_cast<int>(RowError::BadLabel)], 3u);
    EXPECT_EQ(s.skipped_by_kind[static_cast<int>(RowError::LineTooLong)], 0u);
    EXPECT_EQ(s.bytes, std::filesystem::file_size(path));
    EXPECT_EQ(reader.summary(), "rows=" + std::to_string(good.size()) +
                                    " skipped=13 empty_line=3 column_count=2 bad_label=3 bad_integer=3 "
                                    "bad_categorical=2 crlf_rows=0");
    // Warnings: the empty lines (1, 2, last-6) and every bad case, with file:line and field.
    ASSERT_EQ(cap.warnings.size(), cases.size() + 3);
    EXPECT_TRUE(contains(cap.warnings[0], path + ":1: ")) << cap.warnings[0];
    EXPECT_TRUE(contains(cap.warnings[1], path + ":2: ")) << cap.warnings[1];
    for (size_t i = 0; i < cases.size(); ++i) {
      const std::string& w = cap.warnings[i + 2];
      const std::string where = path + ":" + std::to_string(bad_line_numbers[i]) + ": ";
      EXPECT_EQ(w.rfind("warning: " + where, 0), 0u) << w;
      if (!cases[i].field.empty()) {
        EXPECT_TRUE(contains(w, where + cases[i].field + ": ")) << w;
      } else {
        EXPECT_FALSE(contains(w, "field")) << w;
      }
      EXPECT_TRUE(contains(w, cases[i].detail)) << w;
      EXPECT_TRUE(contains(w, "(row skipped)")) << w;
    }
    EXPECT_TRUE(contains(cap.warnings.back(), path + ":" + std::to_string(bad_line_numbers.back() + 1) + ": "))
        << cap.warnings.back();
    EXPECT_EQ(s.warnings_printed, cases.size() + 3);
  }
}

TEST(Reader, FailPolicyThrowsOnFirstBadRowWithSameDetails) {
  TempDir dir;
  const auto cases = bad_cases();
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string path = dir.file("fail" + std::to_string(i) + ".tsv");
    // An empty line first: skipped silently? No: in fail mode the empty line is the
    // first bad row, so use it only in the skip-mode comparison below.
    std::vector<std::string> lines = {fixture_lines()[0], fixture_lines()[1], fixture_lines()[2], cases[i].line,
                                      fixture_lines()[3]};
    write_file(path, join_lines(lines));
    // The skip-mode warning, for comparison.
    Captured cap;
    ReaderOptions so = opts(path, &cap);
    EXPECT_EQ(read_all(so).size(), 4u);
    ASSERT_EQ(cap.warnings.size(), 1u);

    ReaderOptions o = opts(path);
    o.on_error = ErrorPolicy::Fail;
    CriteoReader reader(o);
    Batch b;
    for (int k = 0; k < 3; ++k) ASSERT_EQ(reader.next_batch(b, 1), 1u) << "rows before the bad one";
    try {
      reader.next_batch(b, 1);
      ADD_FAILURE() << "no DataError for case " << i;
    } catch (const DataError& e) {
      const std::string msg = e.what();
      EXPECT_TRUE(contains(msg, path + ":4: " + cases[i].field)) << msg;
      EXPECT_TRUE(contains(msg, cases[i].detail)) << msg;
      EXPECT_TRUE(contains(msg, "on_error = fail")) << msg;
      // Same file/line/field/detail as the skip-mode warning.
      const std::string w = cap.warnings[0];
      const std::string core =
          w.substr(std::strlen("warning: "), w.size() - std::strlen("warning: ") - std::strlen(" (row skipped)"));
      EXPECT_TRUE(contains(msg, core)) << msg << "\nvs\n" << core;
    }
    EXPECT_EQ(reader.stats().skipped, 0u);
  }
  // An empty line is a bad row in fail mode too, named by its line.
  const std::string path = dir.file("empty_fail.tsv");
  write_file(path, fixture_lines()[0] + "\n\n" + fixture_lines()[1] + "\n");
  ReaderOptions o = opts(path);
  o.on_error = ErrorPolicy::Fail;
  CriteoReader reader(o);
  Batch b;
  try {
    reader.next_batch(b, 10);
    ADD_FAILURE() << "no DataError";
  } catch (const DataError& e) {
    EXPECT_TRUE(contains(e.what(), path + ":2: ")) << e.what();
  }
}

TEST(Reader, WarningsStopAfterMaxWarningsWithSummaryLine) {
  TempDir dir;
  std::vector<std::string> lines;
  for (int i = 0; i < 20; ++i) {
    lines.push_back(fixture_lines()[static_cast<size_t>(i)]);
    lines.push_back(row_with(static_cast<size_t>(i), 2, "x"));  // I2 bad
  }
  const std::string path = dir.file("many_bad.tsv");
  write_file(path, join_lines(lines));
  for (int max : {0, 1, 3, 19, 20, 25}) {
    Captured cap;
    ReaderOptions o = opts(path, &cap);
    o.max_warnings = max;
    CriteoReader reader(o);
    EXPECT_EQ(drain(reader, 7).size(), 20u);
    EXPECT_EQ(reader.stats().skipped, 20u);
    EXPECT_EQ(reader.stats().skipped_by_kind[static_cast<int>(RowError::BadInteger)], 20u);
    const size_t printed = static_cast<size_t>(std::min(max, 20));
    EXPECT_EQ(reader.stats().warnings_printed, printed);
    const bool summary = max > 0 && max <= 20;
    ASSERT_EQ(cap.warnings.size(), printed + (summary ? 1 : 0)) << max;
    for (size_t i = 0; i < printed; ++i) {
      EXPECT_TRUE(contains(cap.warnings[i], path + ":" + std::to_string(2 * i + 2) + ": field I2: "))
          << cap.warnings[i];
    }
    if (summary) {
      EXPECT_TRUE(contains(cap.warnings.back(), "further malformed rows are only counted")) << cap.warnings.back();
      EXPECT_TRUE(contains(cap.warnings.back(), "max_warnings = " + std::to_string(max))) << cap.warnings.back();
    }
  }
}

TEST(Reader, CrlfRowsAcceptedCountedAndWarnedOnce) {
  TempDir dir;
  std::vector<std::string> lines(fixture_lines().begin(), fixture_lines().begin() + 300);
  const std::string crlf = dir.file("crlf.tsv");
  write_file(crlf, join_lines(lines, "\r\n"));
  const std::vector<Rec> expected = reference(dir, lines);
  Captured cap;
  CriteoReader reader(opts(crlf, &cap));
  EXPECT_EQ(drain(reader, 64), expected);
  EXPECT_EQ(reader.stats().crlf_rows, 300u);
  EXPECT_EQ(reader.stats().skipped, 0u);
  ASSERT_EQ(cap.warnings.size(), 1u);
  EXPECT_TRUE(contains(cap.warnings[0], crlf + ":1: ")) << cap.warnings[0];
  EXPECT_TRUE(contains(cap.warnings[0], "\\r\\n")) << cap.warnings[0];
  EXPECT_TRUE(contains(reader.summary(), "crlf_rows=300")) << reader.summary();
  // Mixed endings; a bad row after CRLF rows still names its line and field.
  std::string mixed;
  for (size_t i = 0; i < 10; ++i) mixed += lines[i] + (i % 2 ? "\r\n" : "\n");
  mixed += row_with(50, 16, "-") + "\r\n";  // line 11, I16 doesn't exist: field 16 = C3
  mixed += lines[10] + "\r\n";
  const std::string mpath = dir.file("mixed.tsv");
  write_file(mpath, mixed);
  Captured cap2;
  CriteoReader r2(opts(mpath, &cap2));
  EXPECT_EQ(drain(r2).size(), 11u);
  EXPECT_EQ(r2.stats().crlf_rows, 6u);
  ASSERT_EQ(cap2.warnings.size(), 2u);
  EXPECT_TRUE(contains(cap2.warnings[0], mpath + ":2: ")) << cap2.warnings[0];
  EXPECT_TRUE(contains(cap2.warnings[1], mpath + ":11: field C3: ")) << cap2.warnings[1];
}

// Everything a reader gives, batch by batch: records, cursor after each batch, warnings, stats.
struct Transcript {
  std::vector<std::vector<Rec>> batches;
  std::vector<std::vector<uint64_t>> cursors;
  std::vector<uint8_t> valid;
  std::vector<std::string> warnings;
  std::string summary;
  uint64_t bytes = 0;
  bool operator==(const Transcript&) const = default;
};

Transcript transcript(const std::string& inputs, int threads, size_t batch_rows, bool emit_invalid,
                      size_t round_bytes = size_t{64} << 20) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  Captured cap;
  ReaderOptions o = opts(inputs, &cap);
  o.emit_invalid = emit_invalid;
  o.round_bytes = round_bytes;
  CriteoReader reader(o);
  Transcript t;
  Batch b;
  while (size_t n = reader.next_batch(b, batch_rows)) {
    t.batches.emplace_back();
    for (size_t i = 0; i < n; ++i) t.batches.back().push_back(rec_of(b, i));
    t.valid.insert(t.valid.end(), b.valid.begin(), b.valid.begin() + static_cast<long>(n));
    const ReaderCursor c = reader.cursor();
    t.cursors.push_back({c.piece, c.offset, c.line_index, c.rows});
  }
  t.warnings = cap.warnings;
  t.summary = reader.summary();
  t.bytes = reader.stats().bytes;
  omp_set_num_threads(saved);
  return t;
}

TEST(Reader, ParallelParsingGivesTheSameBatchesWarningsAndCursorsAsOneThread) {
  // Two files of 1,500 lines with bad rows, empty lines and CRLF rows scattered through
  // them; batches of 1,000 rows are parsed in parallel and span the file boundary.
  TempDir dir;
  const auto cases = bad_cases();
  std::vector<std::string> good;
  std::string inputs;
  std::vector<std::pair<std::string, size_t>> bad_at;  // (file, 1-based line) of each skipped line
  size_t next = 0, crlf_rows = 0;
  for (int f = 0; f < 2; ++f) {
    const std::string path = dir.file("part" + std::to_string(f) + ".tsv");
    std::string text;
    for (size_t line = 1; line <= 1500; ++line) {
      if (line % 97 == 0) {
        text += cases[(line / 97) % cases.size()].line + "\n";
        bad_at.emplace_back(path, line);
      } else if (line % 211 == 0) {
        text += "\n";
        bad_at.emplace_back(path, line);
      } else {
        good.push_back(fixture_lines()[next++ % fixture_lines().size()]);
        const bool crlf = line % 5 == 0;
        crlf_rows += crlf;
        text += good.back() + (crlf ? "\r\n" : "\n");
      }
    }
    write_file(path, text);
    inputs += (f ? "," : "") + path;
  }
  const std::vector<Rec> expected = reference(dir, good);
  for (bool emit_invalid : {false, true}) {
    SCOPED_TRACE(emit_invalid ? "emit_invalid" : "skip");
    const Transcript one = transcript(inputs, 1, 1000, emit_invalid);
    const Transcript three = transcript(inputs, 3, 1000, emit_invalid);
    EXPECT_TRUE(one == three) << "3 threads must give exactly what 1 thread gives";
    // Rounds cut short by the byte cap (a few lines each) change nothing either.
    EXPECT_TRUE(one == transcript(inputs, 3, 1000, emit_invalid, 2000)) << "rounds of ~2,000 bytes";
    ASSERT_EQ(one.batches.size(), 3u);
    std::vector<Rec> valid_rows;
    size_t rows = 0;
    for (const auto& batch : one.batches)
      for (const Rec& r : batch)
        if (one.valid[rows++]) valid_rows.push_back(r);
    EXPECT_EQ(valid_rows, expected) << "every good row, in order";
    EXPECT_EQ(rows, emit_invalid ? good.size() + bad_at.size() : good.size());
    // One warning per skipped line, in file order, naming file and line.
    std::vector<std::string> skips;
    for (const auto& w : one.warnings)
      if (contains(w, "(row skipped)")) skips.push_back(w);
    ASSERT_EQ(skips.size(), bad_at.size());
    for (size_t i = 0; i < bad_at.size(); ++i)
      EXPECT_EQ(skips[i].rfind("warning: " + bad_at[i].first + ":" + std::to_string(bad_at[i].second) + ": ", 0), 0u)
          << skips[i];
    EXPECT_TRUE(contains(one.summary, "crlf_rows=" + std::to_string(crlf_rows))) << one.summary;
    // rows + skipped = lines, with or without placeholders.
    EXPECT_TRUE(
        contains(one.summary, "rows=" + std::to_string(good.size()) + " skipped=" + std::to_string(bad_at.size())))
        << one.summary;
  }
}

TEST(Reader, EmptyLinesSkippedAndLineNumbersStayRight) {
  TempDir dir;
  std::string content = "\n\n" + fixture_lines()[0] + "\n\n\n" + fixture_lines()[1] + "\n" +
                        row_with(2, 14, "nothex!") + "\n\n" + fixture_lines()[3] + "\n\n";
  // lines: 1 "", 2 "", 3 row0, 4 "", 5 "", 6 row1, 7 bad C1, 8 "", 9 row3, 10 ""
  const std::string path = dir.file("empties.tsv");
  write_file(path, content);
  Captured cap;
  CriteoReader reader(opts(path, &cap));
  const auto got = drain(reader);
  EXPECT_EQ(got, reference(dir, {fixture_lines()[0], fixture_lines()[1], fixture_lines()[3]}));
  EXPECT_EQ(reader.stats().skipped_by_kind[static_cast<int>(RowError::EmptyLine)], 6u);
  EXPECT_EQ(reader.stats().skipped_by_kind[static_cast<int>(RowError::BadCategorical)], 1u);
  bool found = false;
  for (const auto& w : cap.warnings) found |= contains(w, path + ":7: field C1: ");
  EXPECT_TRUE(found);
  EXPECT_TRUE(contains(cap.warnings.back(), path + ":10: ")) << cap.warnings.back();
}

TEST(Reader, LineLongerThanOneMiBIsSkipped) {
  TempDir dir;
  const std::string huge = row_with(1, 20, std::string(3 << 20, 'a'));  // 3 MiB C7
  const std::string almost = std::string((1 << 20) - 10, '7');          // < 1 MiB: parsed, column_count
  std::vector<std::string> lines = {fixture_lines()[0], huge, fixture_lines()[2], almost, fixture_lines()[3]};
  const std::vector<Rec> expected =
      reference(dir, {fixture_lines()[0], fixture_lines()[2], fixture_lines()[3], fixture_lines()[4]});
  for (bool gz : {false, true}) {
    for (size_t block : {size_t{4096}, size_t{1} << 20}) {
      const std::string path = dir.file(gz ? "long.tsv.gz" : "long.tsv");
      const std::string content = join_lines(lines) + huge + "\n" + fixture_lines()[4] + "\n" + huge;  // last: no \n
      if (gz)
        write_gzip(path, content, 1);
      else
        write_file(path, content);
      Captured cap;
      ReaderOptions o = opts(path, &cap);
      o.block_bytes = block;
      CriteoReader reader(o);
      EXPECT_EQ(drain(reader, 2), expected);
      const ReaderStats& s = reader.stats();
      EXPECT_EQ(s.skipped_by_kind[static_cast<int>(RowError::LineTooLong)], 3u);
      EXPECT_EQ(s.skipped_by_kind[static_cast<int>(RowError::ColumnCount)], 1u);
      EXPECT_EQ(s.bytes, content.size());
      ASSERT_EQ(cap.warnings.size(), 4u);
      EXPECT_TRUE(contains(cap.warnings[0], path + ":2: line longer than 1 MiB")) << cap.warnings[0].substr(0, 300);
      EXPECT_TRUE(contains(cap.warnings[1], path + ":4: ")) << cap.warnings[1].substr(0, 300);
      EXPECT_LT(cap.warnings[1].size(), 400u) << "offending text is shortened";
      EXPECT_TRUE(contains(cap.warnings[2], path + ":6: line longer")) << cap.warnings[2].substr(0, 300);
      EXPECT_TRUE(contains(cap.warnings[3], path + ":8: line longer")) << cap.warnings[3].substr(0, 300);
    }
  }
}

TEST(Reader, TruncatedGzipDeliversCompleteRowsAndReports) {
  TempDir dir;
  const std::string content = slurp(kFixture);
  const std::string full = dir.file("full.tsv.gz");
  write_gzip(full, content);
  const std::string gz = slurp(full);
  const std::vector<Rec> all = read_all(opts(kFixture));
  // Cut: only the 8-byte trailer, part of the trailer, a few deflate bytes, half the file.
  for (size_t cut : {size_t{8}, size_t{3}, size_t{20}, size_t{1000}, gz.size() / 2, gz.size() - 30}) {
    const std::string path = dir.file("cut" + std::to_string(cut) + ".tsv.gz");
    write_file(path, gz.substr(0, gz.size() - cut));
    // How many complete lines the intact part holds, by decompressing it independently.
    size_t complete = 0;
    {
      z_stream zs{};
      ASSERT_EQ(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
      std::string in = gz.substr(0, gz.size() - cut);
      std::vector<char> out(1 << 16);
      zs.next_in = reinterpret_cast<Bytef*>(in.data());
      zs.avail_in = static_cast<uInt>(in.size());
      int rc = Z_OK;
      while (rc == Z_OK) {
        zs.next_out = reinterpret_cast<Bytef*>(out.data());
        zs.avail_out = static_cast<uInt>(out.size());
        rc = inflate(&zs, Z_NO_FLUSH);
        complete += static_cast<size_t>(std::count(out.data(), out.data() + (out.size() - zs.avail_out), '\n'));
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
      }
      EXPECT_NE(rc, Z_STREAM_END) << "the cut stream must not be complete";
      inflateEnd(&zs);
    }
    Captured cap;
    CriteoReader reader(opts(path, &cap));
    const std::vector<Rec> got = drain(reader, 333);
    ASSERT_EQ(got.size(), complete) << "cut " << cut;
    if (cut <= gz.size() / 2) {
      EXPECT_GT(got.size(), 1000u) << "cut " << cut;
    }  // else: 30 bytes left, no row
    if (cut <= 8) {
      EXPECT_EQ(got.size(), 8087u) << "only the trailer is missing: every row is there";
    }
    EXPECT_TRUE(std::equal(got.begin(), got.end(), all.begin())) << "a prefix of the real rows";
    EXPECT_EQ(reader.stats().skipped_by_kind[static_cast<int>(RowError::TruncatedInput)], 1u) << cut;
    ASSERT_EQ(cap.warnings.size(), 1u);
    EXPECT_TRUE(contains(cap.warnings[0], path + ":" + std::to_string(complete + 1) + ": ")) << cap.warnings[0];
    EXPECT_TRUE(contains(cap.warnings[0], "truncated")) << cap.warnings[0];
    EXPECT_TRUE(contains(reader.summary(), "truncated_input=1")) << reader.summary();
    EXPECT_EQ(reader.next_batch(*std::make_unique<Batch>(), 10), 0u);

    // Fail mode: the complete rows come first, then a DataError naming the file.
    ReaderOptions fo = opts(path);
    fo.on_error = ErrorPolicy::Fail;
    CriteoReader fr(fo);
    Batch b;
    size_t n = 0;
    try {
      while (fr.next_batch(b, 1) == 1) ++n;
      ADD_FAILURE() << "no DataError for a truncated gzip";
    } catch (const DataError& e) {
      EXPECT_TRUE(contains(e.what(), path)) << e.what();
      EXPECT_TRUE(contains(e.what(), "truncated")) << e.what();
    }
    EXPECT_EQ(n, complete);

    // With 3 ranks (stride), exactly one rank reports it and no complete row is lost.
    size_t total = 0, reports = 0;
    for (int r = 0; r < 3; ++r) {
      Captured c3;
      CriteoReader rr(opts(path, &c3, r, 3));
      total += drain(rr).size();
      reports += rr.stats().skipped_by_kind[static_cast<int>(RowError::TruncatedInput)];
    }
    EXPECT_EQ(total, complete);
    EXPECT_EQ(reports, 1u);
  }
}

TEST(Reader, GarbageGzipIsAnError) {
  TempDir dir;
  const std::string path = dir.file("garbage.tsv.gz");
  std::string gz;
  {
    const std::string full = dir.file("x.gz");
    write_gzip(full, slurp(kFixture));
    gz = slurp(full);
  }
  // Corrupt the deflate data in the middle: zlib must not hand back garbage silently.
  for (size_t i = gz.size() / 2; i < gz.size() / 2 + 64; ++i) gz[i] = static_cast<char>(gz[i] ^ 0x5a);
  write_file(path, gz);
  Captured cap;
  CriteoReader reader(opts(path, &cap));
  Batch b;
  try {
    while (reader.next_batch(b, 1000)) {
    }
    // Either an error, or (if zlib resyncs) rows that parse; never a crash.
    SUCCEED();
  } catch (const DataError& e) {
    EXPECT_TRUE(contains(e.what(), path)) << e.what();
  }
}

TEST(Reader, MissingOrUnreadableInputsFailAtConstruction) {
  TempDir dir;
  auto expect_error = [](const std::string& inputs, const std::string& needle) {
    try {
      CriteoReader reader(opts(inputs));
      ADD_FAILURE() << "no DataError for '" << inputs << "'";
    } catch (const DataError& e) {
      EXPECT_TRUE(contains(e.what(), needle)) << e.what();
    }
  };
  const std::string missing = dir.file("nope.tsv");
  expect_error(missing, "'" + missing + "'");
  expect_error(missing + ".gz", "'" + missing + ".gz'");
  expect_error(kFixture + "," + missing, "'" + missing + "'");
  expect_error(dir.path.string(), "'" + dir.path.string() + "' is a directory");
  expect_error(dir.file("*.tsv"), "'" + dir.file("*.tsv") + "' matches no file");
  expect_error(dir.file("sub/*.tsv"), "matches no file");
  expect_error("", "no input files");
  expect_error(" , ", "no input files");
  // A directory through a glob (the sanitizer build also checks that the glob's list is
  // freed on this error: LeakSanitizer found it leaked).
  std::filesystem::create_directory(dir.file("d.tsv"));
  expect_error(dir.file("*.tsv"), "'" + dir.file("d.tsv") + "' is a directory");
  // Unreadable file (not testable as root, who can read anything).
  const std::string locked = dir.file("locked.tsv");
  write_file(locked, fixture_lines()[0] + "\n");
  ASSERT_EQ(::chmod(locked.c_str(), 0), 0);
  if (::geteuid() != 0) {
    expect_error(locked, "'" + locked + "'");
  }
  // Blanks around commas are fine.
  CriteoReader ok(opts(" " + kFixture + " , " + kFixture));
  EXPECT_EQ(ok.files().size(), 2u);
}

TEST(Reader, GzipEqualsPlain) {
  TempDir dir;
  for (int level : {1, 9}) {
    const std::string gz = dir.file("sample" + std::to_string(level) + ".tsv.gz");
    write_gzip(gz, slurp(kFixture), level);
    for (size_t block : {size_t{4096}, size_t{1} << 20}) {
      ReaderOptions po = opts(kFixture), go = opts(gz);
      po.block_bytes = go.block_bytes = block;
      CriteoReader p(po), g(go);
      EXPECT_TRUE(g.files()[0].gzip);
      EXPECT_FALSE(p.files()[0].gzip);
      const auto a = drain(p, 1000), b = drain(g, 777);
      ASSERT_EQ(a.size(), 8087u);
      EXPECT_EQ(a, b);
      EXPECT_EQ(p.stats().bytes, g.stats().bytes);
    }
  }
}

TEST(Reader, GzipIsToldByItsMagicBytesNotItsName) {
  TempDir dir;
  const std::string gz_named_tsv = dir.file("rows.tsv"), plain_named_gz = dir.file("rows.tsv.gz");
  write_gzip(gz_named_tsv, slurp(kFixture));
  write_file(plain_named_gz, slurp(kFixture));
  CriteoReader plain(opts(kFixture)), g(opts(gz_named_tsv)), p(opts(plain_named_gz));
  EXPECT_TRUE(g.files()[0].gzip);
  EXPECT_FALSE(p.files()[0].gzip);
  const auto want = drain(plain, 1000);
  ASSERT_EQ(want.size(), 8087u);
  EXPECT_EQ(drain(g, 1000), want);
  EXPECT_EQ(drain(p, 1000), want);
}

TEST(Reader, PipesAndFifosAreRefusedNotReadAsEmpty) {
  TempDir dir;
  const std::string fifo = dir.file("rows.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // No writer: opening it would block forever, so the check must come before open().
  try {
    CriteoReader reader(opts(fifo));
    ADD_FAILURE() << "a FIFO was accepted";
  } catch (const DataError& e) {
    EXPECT_TRUE(contains(e.what(), "'" + fifo + "' is a pipe or FIFO")) << e.what();
  }
  try {
    CriteoReader reader(opts("/dev/null"));
    ADD_FAILURE() << "a character device was accepted";
  } catch (const DataError& e) {
    EXPECT_TRUE(contains(e.what(), "is a character device")) << e.what();
  }
}

TEST(Reader, EpochFractionFollowsTheBytesReadOnDisk) {
  TempDir dir;
  const std::string gz = dir.file("sample.tsv.gz");
  write_gzip(gz, slurp(kFixture), 1);
  for (const std::string& path : {kFixture, gz}) {
    for (int nranks : {1, 2}) {
      ReaderOptions o = opts(path, nullptr, nranks - 1, nranks);
      CriteoReader reader(o);
      EXPECT_LT(reader.epoch_fraction(), 1e-3) << path;  // gzip has read its header
      Batch b;
      double last = 0;
      uint64_t rows = 0;
      const uint64_t total = nranks == 1 ? 8087 : (path == gz ? 4043 : 0);
      bool checked_half = false;
      while (reader.next_batch(b, 100)) {
        rows += b.rows;
        const double f = reader.epoch_fraction();
        EXPECT_GE(f, last) << path;
        last = f;
        if (total && !checked_half && rows >= total / 2) {
          // Rows are about equally long: half the rows is about half the bytes (gzip reads
          // ahead by its buffer, 256 KiB of a ~0.5 MB file at level 1, so it runs ahead).
          EXPECT_GT(f, 0.4) << path;
          if (path == kFixture) {
            EXPECT_LT(f, 0.6) << path;
          }
          checked_half = true;
        }
      }
      EXPECT_EQ(reader.epoch_fraction(), 1.0) << path << " ranks " << nranks;
      reader.rewind();
      EXPECT_LT(reader.epoch_fraction(), 1e-3) << path;
    }
  }
}

TEST(Reader, UnlabeledDataAndLabelModes) {
  TempDir dir;
  std::string unl;
  for (size_t i = 0; i < 50; ++i) unl += fixture_lines()[i].substr(2) + "\n";
  const std::string path = dir.file("unlabeled.tsv");
  write_file(path, unl);
  for (LabelMode m : {LabelMode::Optional, LabelMode::Forbidden}) {
    ReaderOptions o = opts(path);
    o.label_mode = m;
    CriteoReader reader(o);
    Batch b;
    ASSERT_EQ(reader.next_batch(b, 100), 50u);
    for (size_t i = 0; i < 50; ++i) EXPECT_EQ(b.labels[i], -1.0f);
  }
  // Required: every row is a column_count error, and none is delivered.
  Captured cap;
  ReaderOptions o = opts(path, &cap);
  CriteoReader reader(o);
  EXPECT_TRUE(drain(reader).empty());
  EXPECT_EQ(reader.stats().skipped_by_kind[static_cast<int>(RowError::ColumnCount)], 50u);
  // Unlabeled layout names its fields from I1: bad third column is I3.
  const std::string bad = dir.file("unlabeled_bad.tsv");
  std::string l = fixture_lines()[0].substr(2);
  l.replace(l.find('\t', l.find('\t') + 1) + 1, 1, "q");  // I3 "5" -> "q"
  write_file(bad, l + "\n");
  Captured cap2;
  ReaderOptions o2 = opts(bad, &cap2);
  o2.label_mode = LabelMode::Optional;
  CriteoReader r2(o2);
  EXPECT_TRUE(drain(r2).empty());
  ASSERT_EQ(cap2.warnings.size(), 1u);
  EXPECT_TRUE(contains(cap2.warnings[0], bad + ":1: field I3: ")) << cap2.warnings[0];
}

TEST(Reader, LineNumbersInLaterShardPieces) {
  TempDir dir;
  std::vector<std::string> lines(fixture_lines().begin(), fixture_lines().begin() + 2000);
  lines[1700] = row_with(1700, 17, "bad!");  // line 1701, C4
  lines[300] = "";                           // an empty line in rank 0's part: counted as a line
  const std::string path = dir.file("ranked.tsv");
  write_file(path, join_lines(lines));
  const std::string gz = dir.file("ranked.tsv.gz");
  write_gzip(gz, join_lines(lines));
  for (const std::string& p : {path, gz}) {
    for (int n : {2, 3}) {
      size_t found = 0, rows = 0;
      for (int r = 0; r < n; ++r) {
        Captured cap;
        CriteoReader reader(opts(p, &cap, r, n));
        rows += drain(reader).size();
        for (const auto& w : cap.warnings) {
          if (contains(w, "field")) {
            ++found;
            EXPECT_TRUE(contains(w, p + ":1701: field C4: ")) << w;
          } else {
            EXPECT_TRUE(contains(w, p + ":301: ")) << w;
          }
        }
      }
      EXPECT_EQ(found, 1u);
      EXPECT_EQ(rows, 1998u);
    }
  }
}

// ---------------------------------------------------------------------------
// Cursor: stop half way, save, resume in a fresh reader.
// ---------------------------------------------------------------------------

void check_resume(const std::string& inputs, int nranks, size_t batch_rows) {
  for (int r = 0; r < nranks; ++r) {
    Captured cap0;
    const std::vector<Rec> whole = read_all(opts(inputs, &cap0, r, nranks), batch_rows);
    ASSERT_FALSE(whole.empty());
    const size_t total_batches = (whole.size() + batch_rows - 1) / batch_rows;
    for (size_t stop : {size_t{0}, size_t{1}, total_batches / 2, total_batches - 1, total_batches}) {
      Captured cap1, cap2;
      std::vector<Rec> got;
      ReaderCursor c;
      {
        CriteoReader a(opts(inputs, &cap1, r, nranks));
        Batch b;
        for (size_t k = 0; k < stop; ++k) {
          const size_t n = a.next_batch(b, batch_rows);
          for (size_t i = 0; i < n; ++i) got.push_back(rec_of(b, i));
        }
        c = a.cursor();
        EXPECT_EQ(c.rows, got.size());
      }
      CriteoReader b(opts(inputs, &cap2, r, nranks));
      b.seek(c);
      EXPECT_EQ(b.cursor().rows, got.size());
      const std::vector<Rec> rest = drain(b, batch_rows);
      got.insert(got.end(), rest.begin(), rest.end());
      ASSERT_EQ(got.size(), whole.size()) << inputs << " rank " << r << "/" << nranks << " stop " << stop;
      ASSERT_EQ(got, whole) << inputs << " rank " << r << "/" << nranks << " stop " << stop;
      EXPECT_EQ(b.cursor().rows, whole.size());
      // The cursor after the end resumes at the end.
      CriteoReader e(opts(inputs, &cap2, r, nranks));
      e.seek(b.cursor());
      Batch eb;
      EXPECT_EQ(e.next_batch(eb, batch_rows), 0u);
    }
  }
}

TEST(ReaderCursor, ResumePlain) { check_resume(kFixture, 1, 1000); }

TEST(ReaderCursor, ResumeGzip) {
  TempDir dir;
  const std::string gz = dir.file("sample.tsv.gz");
  write_gzip(gz, slurp(kFixture));
  check_resume(gz, 1, 1000);
}

TEST(ReaderCursor, ResumeTwoRanksPlainAndGzip) {
  TempDir dir;
  const std::string gz = dir.file("sample.tsv.gz");
  write_gzip(gz, slurp(kFixture));
  check_resume(kFixture, 2, 700);
  check_resume(gz, 2, 700);
  check_resume(gz, 3, 1024);
}

TEST(ReaderCursor, ResumeManyFilesAndBadRows) {
  TempDir dir;
  // Three files (one gzip), with bad rows and empty lines sprinkled in.
  std::string inputs;
  for (int f = 0; f < 3; ++f) {
    std::vector<std::string> lines(fixture_lines().begin() + f * 2000, fixture_lines().begin() + (f + 1) * 2000);
    lines[100] = row_with(static_cast<size_t>(f) * 2000 + 100, 2, "x");
    lines[777] = "";
    const std::string path = dir.file("part" + std::to_string(f) + (f == 1 ? ".tsv.gz" : ".tsv"));
    if (f == 1)
      write_gzip(path, join_lines(lines));
    else
      write_file(path, join_lines(lines));
    inputs += (f ? "," : "") + path;
  }
  check_resume(inputs, 1, 512);
  check_resume(inputs, 2, 512);
  check_resume(inputs, 3, 300);
  check_resume(inputs, 5, 300);  // fewer files than ranks: byte ranges + stride
}

}  // namespace
}  // namespace sparsetrain::data
