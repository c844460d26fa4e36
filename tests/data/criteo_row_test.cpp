// Parser tests: real Criteo rows from the shipped fixture, hand-checked values, the
// labeled / unlabeled layouts and every malformed-field case, straight through
// parse_criteo_line (the reader-level behaviour is in reader_test.cpp).
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "data_test_util.h"
#include "sparsetrain/data/criteo_row.h"

namespace sparsetrain::data {
namespace {

using namespace sparsetrain::data::testing;

std::string join_tabs(const std::vector<std::string>& cols) {
  std::string s;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i) s += '\t';
    s += cols[i];
  }
  return s;
}

// Row 1 of the fixture with column `col` (0 = label, 1..13 = I1..I13, 14..39 = C1..C26)
// replaced by `value`.
std::string row1_with(int col, const std::string& value) {
  static const std::vector<std::string> lines = read_lines(kFixture);
  std::vector<std::string> cols = split_tabs(lines.at(0));
  cols.at(static_cast<size_t>(col)) = value;
  return join_tabs(cols);
}

bool parse(const std::string& s, LabelMode mode, CriteoRow& row, ParseFailure& f) {
  return parse_criteo_line(s.data(), s.size(), mode, row, f);
}

ParseFailure parse_fail(const std::string& s, LabelMode mode = LabelMode::Required) {
  CriteoRow row;
  ParseFailure f;
  EXPECT_FALSE(parse(s, mode, row, f)) << "accepted: " << s;
  return f;
}

TEST(CriteoRow, ShippedSampleParsesCompletely) {
  const std::vector<std::string> lines = read_lines(kFixture);
  ASSERT_EQ(lines.size(), 8087u);
  int pos = 0, neg = 0;
  CriteoRow row;
  ParseFailure f;
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_TRUE(parse(lines[i], LabelMode::Required, row, f))
        << "line " << i + 1 << ": " << row_error_name(f.error) << " " << f.detail;
    EXPECT_FALSE(row.had_crlf);
    if (row.label == 1)
      ++pos;
    else if (row.label == 0)
      ++neg;
    else
      ADD_FAILURE() << "label " << row.label;
  }
  EXPECT_EQ(pos, 1747);
  EXPECT_EQ(neg, 6340);
}

TEST(CriteoRow, TrainTestSplitFilesParse) {
  const auto train = read_lines(std::string(ST_TEST_DATA_DIR) + "/criteo_sample_train.tsv");
  const auto test = read_lines(std::string(ST_TEST_DATA_DIR) + "/criteo_sample_test.tsv");
  const auto all = read_lines(kFixture);
  ASSERT_EQ(train.size(), 6470u);
  ASSERT_EQ(test.size(), 1617u);
  EXPECT_EQ(train.front(), all.front());
  EXPECT_EQ(test.back(), all.back());
  CriteoRow row;
  ParseFailure f;
  for (const auto& l : train) ASSERT_TRUE(parse(l, LabelMode::Required, row, f));
  for (const auto& l : test) ASSERT_TRUE(parse(l, LabelMode::Required, row, f));
}

TEST(CriteoRow, HandCheckedRow1) {
  const auto lines = read_lines(kFixture);
  CriteoRow row;
  ParseFailure f;
  ASSERT_TRUE(parse(lines[0], LabelMode::Required, row, f));
  EXPECT_EQ(row.label, 0);
  const int64_t ints[kNumIntFields] = {1, 1, 5, 0, 1382, 4, 15, 2, 181, 1, 2, -999, 2};
  for (int i = 0; i < kNumIntFields; ++i) {
    if (i == 11) {
      EXPECT_FALSE(row.int_present[i]) << "I12 is empty in row 1";
      continue;
    }
    EXPECT_TRUE(row.int_present[i]) << "I" << i + 1;
    EXPECT_EQ(row.int_value[i], ints[i]) << "I" << i + 1;
  }
  const uint32_t cats[kNumCatFields] = {
      0x68fd1e64, 0x80e26c9b, 0xfb936136, 0x7b4723c4,        0x25c83c98, 0x7e0ccccf, 0xde7995b8, 0x1f89b562, 0xa73ee510,
      0xa8cd5504, 0xb2cb9c98, 0x37c9c164, 0x2824a5f6,        0x1adce6ef, 0x8ba8b39a, 0x891b62e7, 0xe5ba7672, 0xf54016b9,
      0x21ddcdc9, 0xb1252a9d, 0x07b5194c, 0 /* C22 empty */, 0x3a171ecb, 0xc5c50484, 0xe8b83407, 0x9727dd16};
  for (int i = 0; i < kNumCatFields; ++i) {
    if (i == 21) {
      EXPECT_FALSE(row.cat_present[i]) << "C22 is empty in row 1";
      continue;
    }
    EXPECT_TRUE(row.cat_present[i]) << "C" << i + 1;
    EXPECT_EQ(row.cat_value[i], cats[i]) << "C" << i + 1;
  }
}

TEST(CriteoRow, HandCheckedRow2) {
  const auto lines = read_lines(kFixture);
  CriteoRow row;
  ParseFailure f;
  ASSERT_TRUE(parse(lines[1], LabelMode::Required, row, f));
  EXPECT_EQ(row.label, 0);
  const int64_t ints[kNumIntFields] = {2, 0, 44, 1, 102, 8, 2, 2, 4, 1, 1, -999, 4};
  for (int i = 0; i < kNumIntFields; ++i) {
    EXPECT_EQ(row.int_present[i], i != 11) << "I" << i + 1;
    if (i != 11) {
      EXPECT_EQ(row.int_value[i], ints[i]) << "I" << i + 1;
    }
  }
  EXPECT_EQ(row.cat_value[0], 0x68fd1e64u);
  EXPECT_EQ(row.cat_value[1], 0xf0cf0024u);
  EXPECT_EQ(row.cat_value[7], 0x0b153874u);  // leading zero
  EXPECT_EQ(row.cat_value[20], 0x60f6221eu);
  EXPECT_FALSE(row.cat_present[21]);
  EXPECT_EQ(row.cat_value[25], 0x731c3655u);
}

TEST(CriteoRow, UnlabeledRowsFollowLabelMode) {
  const auto lines = read_lines(kFixture);
  const std::string labeled = lines[0];
  const std::string unlabeled = labeled.substr(labeled.find('\t') + 1);  // 39 columns
  CriteoRow a, b;
  ParseFailure f;
  ASSERT_TRUE(parse(labeled, LabelMode::Required, a, f));
  for (LabelMode mode : {LabelMode::Optional, LabelMode::Forbidden}) {
    ASSERT_TRUE(parse(unlabeled, mode, b, f)) << f.detail;
    EXPECT_EQ(b.label, -1);
    for (int i = 0; i < kNumIntFields; ++i) {
      EXPECT_EQ(a.int_present[i], b.int_present[i]);
      if (a.int_present[i]) {
        EXPECT_EQ(a.int_value[i], b.int_value[i]);
      }
    }
    for (int i = 0; i < kNumCatFields; ++i) {
      EXPECT_EQ(a.cat_present[i], b.cat_present[i]);
      if (a.cat_present[i]) {
        EXPECT_EQ(a.cat_value[i], b.cat_value[i]);
      }
    }
  }
  // Optional also takes labeled rows; Forbidden does not; Required refuses unlabeled.
  ASSERT_TRUE(parse(labeled, LabelMode::Optional, b, f));
  EXPECT_EQ(b.label, 0);
  f = parse_fail(labeled, LabelMode::Forbidden);
  EXPECT_EQ(f.error, RowError::ColumnCount);
  EXPECT_EQ(f.column, -1);
  EXPECT_NE(f.detail.find("39"), std::string::npos) << f.detail;
  EXPECT_NE(f.detail.find("found 40"), std::string::npos) << f.detail;
  f = parse_fail(unlabeled, LabelMode::Required);
  EXPECT_EQ(f.error, RowError::ColumnCount);
  EXPECT_NE(f.detail.find("found 39"), std::string::npos) << f.detail;
}

TEST(CriteoRow, WrongColumnCount) {
  const std::string good = row1_with(0, "1");
  for (LabelMode mode : {LabelMode::Required, LabelMode::Optional, LabelMode::Forbidden}) {
    ParseFailure f = parse_fail(good + "\textra", mode);
    EXPECT_EQ(f.error, RowError::ColumnCount);
    EXPECT_NE(f.detail.find("found 41"), std::string::npos) << f.detail;
    f = parse_fail("1\t2\t3", mode);
    EXPECT_EQ(f.error, RowError::ColumnCount);
    f = parse_fail("no tabs at all", mode);
    EXPECT_EQ(f.error, RowError::ColumnCount);
    EXPECT_NE(f.detail.find("found 1"), std::string::npos) << f.detail;
  }
  // 38 columns is neither layout.
  const std::string short_row = good.substr(good.find('\t') + 1);
  ParseFailure f = parse_fail(short_row.substr(short_row.find('\t') + 1), LabelMode::Optional);
  EXPECT_EQ(f.error, RowError::ColumnCount);
}

TEST(CriteoRow, BadLabels) {
  for (const char* bad : {"2", "", "0.5", "-1", "00", "1 ", " 1", "x", "10"}) {
    const ParseFailure f = parse_fail(row1_with(0, bad));
    EXPECT_EQ(f.error, RowError::BadLabel) << "label '" << bad << "'";
    EXPECT_EQ(f.column, 0);
    EXPECT_EQ(column_name(f.column, true), "label");
    EXPECT_NE(f.detail.find(std::string("'") + bad + "'"), std::string::npos) << f.detail;
  }
  CriteoRow row;
  ParseFailure f;
  ASSERT_TRUE(parse(row1_with(0, "1"), LabelMode::Required, row, f));
  EXPECT_EQ(row.label, 1);
}

TEST(CriteoRow, BadIntegers) {
  struct Case {
    int col;
    const char* text;
  };
  for (const Case& c : {Case{1, "x"}, Case{3, "1x"}, Case{3, "1.5"}, Case{5, "-"}, Case{7, "+3"}, Case{13, " 2"},
                        Case{13, "2 "}, Case{2, "0x10"}, Case{4, "--1"}}) {
    const ParseFailure f = parse_fail(row1_with(c.col, c.text));
    EXPECT_EQ(f.error, RowError::BadInteger) << c.text;
    EXPECT_EQ(f.column, c.col) << c.text;
    EXPECT_EQ(column_name(f.column, true), std::string("I").append(std::to_string(c.col))) << c.text;
    EXPECT_NE(f.detail.find("not an integer"), std::string::npos) << f.detail;
    EXPECT_NE(f.detail.find(c.text), std::string::npos) << f.detail;
  }
}

TEST(CriteoRow, IntegerLengthLimit) {
  CriteoRow row;
  ParseFailure f;
  // 18 digits is the longest accepted (fits int64 without overflow checks), with or without sign.
  ASSERT_TRUE(parse(row1_with(3, "999999999999999999"), LabelMode::Required, row, f)) << f.detail;
  EXPECT_EQ(row.int_value[2], 999999999999999999LL);
  ASSERT_TRUE(parse(row1_with(3, "-999999999999999999"), LabelMode::Required, row, f)) << f.detail;
  EXPECT_EQ(row.int_value[2], -999999999999999999LL);
  ASSERT_TRUE(parse(row1_with(3, "-7"), LabelMode::Required, row, f));
  EXPECT_EQ(row.int_value[2], -7);
  ASSERT_TRUE(parse(row1_with(3, "007"), LabelMode::Required, row, f));
  EXPECT_EQ(row.int_value[2], 7);
  // Refused before the value overflows int64 (signed overflow: UBSan in the sanitizer build
  // caught the parser multiplying 999999999999999999 by 10 before counting the 19th digit).
  for (const char* longint : {"1000000000000000000", "99999999999999999999999", "-1000000000000000000",
                              "9999999999999999999", "-9999999999999999999"}) {
    f = parse_fail(row1_with(3, longint));
    EXPECT_EQ(f.error, RowError::BadInteger) << longint;
    EXPECT_EQ(f.column, 3);
    EXPECT_EQ(column_name(f.column, true), "I3");
    EXPECT_NE(f.detail.find("too long"), std::string::npos) << f.detail;
  }
}

TEST(CriteoRow, BadCategoricals) {
  for (const char* bad : {"68fd1e6g", "xyz", "68fd-e64", " 68fd1e6", "68fd1e6 ", "0x1234"}) {
    const ParseFailure f = parse_fail(row1_with(20, bad));  // column 20 = C7
    EXPECT_EQ(f.error, RowError::BadCategorical) << bad;
    EXPECT_EQ(f.column, 20);
    EXPECT_EQ(column_name(f.column, true), "C7");
    EXPECT_NE(f.detail.find("not hexadecimal"), std::string::npos) << f.detail;
  }
  // 9 hex digits: over-long.
  ParseFailure f = parse_fail(row1_with(39, "123456789"));
  EXPECT_EQ(f.error, RowError::BadCategorical);
  EXPECT_EQ(f.column, 39);
  EXPECT_EQ(column_name(f.column, true), "C26");
  EXPECT_NE(f.detail.find("longer than 8"), std::string::npos) << f.detail;
  // Shorter values and upper case are fine.
  CriteoRow row;
  ASSERT_TRUE(parse(row1_with(14, "A"), LabelMode::Required, row, f)) << f.detail;
  EXPECT_EQ(row.cat_value[0], 0xau);
  ASSERT_TRUE(parse(row1_with(14, "FFFFFFFF"), LabelMode::Required, row, f));
  EXPECT_EQ(row.cat_value[0], 0xffffffffu);
  ASSERT_TRUE(parse(row1_with(14, "00000000"), LabelMode::Required, row, f));
  EXPECT_TRUE(row.cat_present[0]);
  EXPECT_EQ(row.cat_value[0], 0u);
}

TEST(CriteoRow, LongOffendingTextIsShortened) {
  const std::string junk(5000, 'z');
  const ParseFailure f = parse_fail(row1_with(15, junk));
  EXPECT_EQ(f.error, RowError::BadCategorical);
  EXPECT_LT(f.detail.size(), 200u);
  EXPECT_NE(f.detail.find("..."), std::string::npos);
  const ParseFailure g = parse_fail(row1_with(15, std::string("\x01\xff", 2)));
  EXPECT_NE(g.detail.find("\\x01\\xff"), std::string::npos) << g.detail;
}

TEST(CriteoRow, CrlfAndEmptyLines) {
  CriteoRow row;
  ParseFailure f;
  const std::string good = row1_with(0, "1");
  ASSERT_TRUE(parse(good + "\r", LabelMode::Required, row, f)) << f.detail;
  EXPECT_TRUE(row.had_crlf);
  EXPECT_EQ(row.cat_value[25], 0x9727dd16u);  // the \r is not part of C26
  ASSERT_TRUE(parse(good, LabelMode::Required, row, f));
  EXPECT_FALSE(row.had_crlf);
  // Last field missing then \r: still missing.
  ASSERT_TRUE(parse(row1_with(39, "") + "\r", LabelMode::Required, row, f));
  EXPECT_FALSE(row.cat_present[25]);

  f = parse_fail("");
  EXPECT_EQ(f.error, RowError::EmptyLine);
  EXPECT_EQ(f.column, -1);
  f = parse_fail("\r");
  EXPECT_EQ(f.error, RowError::EmptyLine);
}

TEST(CriteoRow, AllMissingRow) {
  CriteoRow row;
  ParseFailure f;
  const std::string all_missing = std::string("1").append(39, '\t');
  ASSERT_TRUE(parse(all_missing, LabelMode::Required, row, f)) << f.detail;
  EXPECT_EQ(row.label, 1);
  for (int i = 0; i < kNumIntFields; ++i) EXPECT_FALSE(row.int_present[i]);
  for (int i = 0; i < kNumCatFields; ++i) EXPECT_FALSE(row.cat_present[i]);
  const std::string unlabeled_missing(38, '\t');
  ASSERT_TRUE(parse(unlabeled_missing, LabelMode::Forbidden, row, f)) << f.detail;
  EXPECT_EQ(row.label, -1);
}

TEST(CriteoRow, ColumnNamesAndErrorNames) {
  EXPECT_EQ(column_name(0, true), "label");
  EXPECT_EQ(column_name(1, true), "I1");
  EXPECT_EQ(column_name(13, true), "I13");
  EXPECT_EQ(column_name(14, true), "C1");
  EXPECT_EQ(column_name(39, true), "C26");
  EXPECT_EQ(column_name(40, true), "column 41");
  EXPECT_EQ(column_name(0, false), "I1");
  EXPECT_EQ(column_name(13, false), "C1");
  EXPECT_EQ(column_name(38, false), "C26");
  EXPECT_EQ(column_name(-1, true), "line");
  EXPECT_STREQ(row_error_name(RowError::EmptyLine), "empty_line");
  EXPECT_STREQ(row_error_name(RowError::ColumnCount), "column_count");
  EXPECT_STREQ(row_error_name(RowError::BadLabel), "bad_label");
  EXPECT_STREQ(row_error_name(RowError::BadInteger), "bad_integer");
  EXPECT_STREQ(row_error_name(RowError::BadCategorical), "bad_categorical");
  EXPECT_STREQ(row_error_name(RowError::LineTooLong), "line_too_long");
  EXPECT_STREQ(row_error_name(RowError::TruncatedInput), "truncated_input");
}

TEST(CriteoRow, UnlabeledFieldErrorsNameUnlabeledColumns) {
  const std::string unlabeled = row1_with(0, "0").substr(2);
  std::vector<std::string> cols = split_tabs(unlabeled);
  cols[2] = "abc";  // I3 in the unlabeled layout
  ParseFailure f = parse_fail(join_tabs(cols), LabelMode::Optional);
  EXPECT_EQ(f.error, RowError::BadInteger);
  EXPECT_EQ(f.column, 2);
  EXPECT_EQ(column_name(f.column, false), "I3");
}

// Differential test against a plain reference parser: random fields of every shape
// (valid, empty, too long, junk next to valid characters, bytes >= 0x80, all lengths),
// so the parser's fast paths and its byte-by-byte path must agree everywhere.
struct RefResult {
  bool ok = true;
  RowError error = RowError::None;
  int column = -1;
  CriteoRow row{};
};

RefResult reference_parse(const std::vector<std::string>& cols, bool labeled) {
  RefResult r;
  size_t c = 0;
  if (labeled) {
    if (cols[0] == "0" || cols[0] == "1") {
      r.row.label = cols[0][0] - '0';
    } else {
      return {false, RowError::BadLabel, 0, {}};
    }
    c = 1;
  }
  for (int i = 0; i < kNumIntFields; ++i, ++c) {
    const std::string& f = cols[c];
    if (f.empty()) {
      r.row.int_present[i] = false;
      continue;
    }
    size_t k = f[0] == '-' ? 1 : 0;
    size_t digits = 0;
    while (k + digits < f.size() && f[k + digits] >= '0' && f[k + digits] <= '9') ++digits;
    if (digits > 18 || digits == 0 || k + digits != f.size())
      return {false, RowError::BadInteger, static_cast<int>(c), {}};
    r.row.int_present[i] = true;
    r.row.int_value[i] = std::stoll(f);
  }
  for (int i = 0; i < kNumCatFields; ++i, ++c) {
    const std::string& f = cols[c];
    if (f.empty()) {
      r.row.cat_present[i] = false;
      continue;
    }
    size_t digits = 0;
    while (digits < f.size() && std::isxdigit(static_cast<unsigned char>(f[digits]))) ++digits;
    if (digits > 8 || digits != f.size()) return {false, RowError::BadCategorical, static_cast<int>(c), {}};
    r.row.cat_present[i] = true;
    r.row.cat_value[i] = static_cast<uint32_t>(std::stoul(f, nullptr, 16));
  }
  return r;
}

TEST(CriteoRow, RandomFieldsMatchReferenceParser) {
  std::mt19937_64 rng(12345);
  auto pick = [&](const std::string& chars) { return chars[rng() % chars.size()]; };
  const std::string digits = "0123456789";
  const std::string hex = "0123456789abcdefABCDEF";
  // Characters next to the valid ranges, and ones that alias them under |0x20 or &0x7f.
  // (24 characters and the NUL: 25 bytes; it read 26, one past the literal, until ASan saw it.)
  const std::string junk = std::string("/:`gG@.+- xXzZ\x10\x11\x19\x7f\x80\xb0\xb9\xe1\xc6\xff", 25);
  auto int_field = [&]() -> std::string {
    const unsigned kind = rng() % 16;
    if (kind < 3) return "";
    std::string f = (kind == 3) ? "-" : "";
    const size_t len = kind == 4 ? 17 + rng() % 4 : 1 + rng() % (kind < 10 ? 7 : 10);
    for (size_t k = 0; k < len; ++k) f += pick(digits);
    if (kind == 5 || kind == 6) f[rng() % f.size()] = pick(junk);
    if (kind == 7) f += pick(junk);
    return f;
  };
  auto cat_field = [&]() -> std::string {
    const unsigned kind = rng() % 16;
    if (kind < 3) return "";
    const size_t len = kind < 10 ? 8 : (kind == 15 ? 9 + rng() % 3 : 1 + rng() % 8);
    std::string f;
    for (size_t k = 0; k < len; ++k) f += pick(hex);
    if (kind == 4 || kind == 5) f[rng() % f.size()] = pick(junk);
    if (kind == 6) f += pick(junk);
    return f;
  };
  size_t ok = 0, failed = 0;
  for (int iter = 0; iter < 60000; ++iter) {
    const bool labeled = iter % 4 != 3;
    std::vector<std::string> cols;
    if (labeled) cols.push_back(rng() % 50 == 0 ? std::string(1, pick(junk)) : std::string(1, pick("01")));
    // Mostly clean rows with one or two random fields, sometimes every field random.
    const bool all_random = rng() % 8 == 0;
    for (int i = 0; i < kNumIntFields; ++i)
      cols.push_back(all_random || rng() % 13 == 0 ? int_field() : std::to_string(rng() % 5000));
    for (int i = 0; i < kNumCatFields; ++i) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rng()));
      cols.push_back(all_random || rng() % 26 == 0 ? cat_field() : std::string(buf));
    }
    std::string line;
    for (size_t k = 0; k < cols.size(); ++k) line += (k ? "\t" : "") + cols[k];
    const RefResult ref = reference_parse(cols, labeled);
    CriteoRow row;
    ParseFailure f;
    const LabelMode mode = labeled ? LabelMode::Required : LabelMode::Forbidden;
    // Parse from an exact-size heap copy so reads past the line would be caught by ASan.
    std::vector<char> exact(line.begin(), line.end());
    const bool got = parse_criteo_line(exact.data(), exact.size(), mode, row, f);
    ASSERT_EQ(got, ref.ok) << "line: " << line << "\n" << f.detail;
    if (!got) {
      ++failed;
      ASSERT_EQ(f.error, ref.error) << line << "\n" << f.detail;
      ASSERT_EQ(f.column, ref.column) << line << "\n" << f.detail;
      continue;
    }
    ++ok;
    ASSERT_EQ(row.label, labeled ? ref.row.label : -1);
    for (int i = 0; i < kNumIntFields; ++i) {
      ASSERT_EQ(row.int_present[i], ref.row.int_present[i]) << line;
      if (row.int_present[i]) {
        ASSERT_EQ(row.int_value[i], ref.row.int_value[i]) << "I" << i + 1 << " " << line;
      }
    }
    for (int i = 0; i < kNumCatFields; ++i) {
      ASSERT_EQ(row.cat_present[i], ref.row.cat_present[i]) << line;
      if (row.cat_present[i]) {
        ASSERT_EQ(row.cat_value[i], ref.row.cat_value[i]) << "C" << i + 1 << " " << line;
      }
    }
  }
  EXPECT_GT(ok, 10000u);
  EXPECT_GT(failed, 10000u);
}

}  // namespace
}  // namespace sparsetrain::data
