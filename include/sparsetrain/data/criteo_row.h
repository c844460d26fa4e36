#pragma once
// Parsing one Criteo TSV line: `label \t I1..I13 \t C1..C26` (40 columns) or, for
// unlabeled data such as Kaggle's test.txt, `I1..I13 \t C1..C26` (39 columns).
// Empty fields are missing values. Nothing here allocates.
#include <cstddef>
#include <cstdint>
#include <string>

namespace sparsetrain::data {

inline constexpr int kNumIntFields = 13;
inline constexpr int kNumCatFields = 26;
inline constexpr int kNumFields = kNumIntFields + kNumCatFields;  // 39 feature columns

// Which rows are acceptable: training needs labels, prediction takes either.
enum class LabelMode { Required, Forbidden, Optional };

struct CriteoRow {
  int label = -1;  // 0/1, or -1 for an unlabeled row
  bool int_present[kNumIntFields];
  int64_t int_value[kNumIntFields];
  bool cat_present[kNumCatFields];
  uint32_t cat_value[kNumCatFields];
  bool had_crlf = false;  // the line ended in "\r\n" (accepted; counted by the reader)
};

enum class RowError {
  None = 0,
  EmptyLine,
  ColumnCount,
  BadLabel,
  BadInteger,
  BadCategorical,
  LineTooLong,
  TruncatedInput,
};
inline constexpr int kNumRowErrorKinds = 8;
const char* row_error_name(RowError e);  // e.g. "bad_integer"

struct ParseFailure {
  RowError error = RowError::None;
  int column = -1;       // 0-based column of the bad field (-1: whole line)
  std::string detail;    // what was wrong, with the offending text (shortened)
  bool labeled = false;  // layout the line was read with (meaningful when column >= 0)
};

// Name of a column for messages: "label", "I1".."I13", "C1".."C26" (labeled layout),
// or "column N" beyond the layout.
std::string column_name(int column, bool labeled);

// Parses `line` (without its '\n'; a trailing '\r' is stripped and reported in
// row.had_crlf). On failure returns false and fills `failure`.
bool parse_criteo_line(const char* line, size_t len, LabelMode mode, CriteoRow& row, ParseFailure& failure);

}  // namespace sparsetrain::data
