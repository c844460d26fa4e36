#include "sparsetrain/data/criteo_row.h"

#include <algorithm>

namespace sparsetrain::data {
namespace {

// Longest integer we accept: 18 digits always fits int64 without overflow checks.
constexpr int kMaxIntDigits = 18;
// Criteo categorical values are 32-bit hashes printed as 8 hex digits.
constexpr int kMaxHexDigits = 8;

inline int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string shorten(const char* begin, const char* end) {
  constexpr size_t kMax = 24;
  std::string s;
  for (const char* p = begin; p < end && s.size() < kMax; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (c < 32 || c > 126) {
      static const char* hex = "0123456789abcdef";
      s += "\\x";
      s += hex[c >> 4];
      s += hex[c & 15];
    } else {
      s += static_cast<char>(c);
    }
  }
  if (end - begin > static_cast<long>(kMax)) s += "...";
  return s;
}

bool fail(ParseFailure& f, RowError e, int column, std::string detail) {
  f.error = e;
  f.column = column;
  f.detail = std::move(detail);
  return false;
}

}  // namespace

const char* row_error_name(RowError e) {
  switch (e) {
    case RowError::None: return "none";
    case RowError::EmptyLine: return "empty_line";
    case RowError::ColumnCount: return "column_count";
    case RowError::BadLabel: return "bad_label";
    case RowError::BadInteger: return "bad_integer";
    case RowError::BadCategorical: return "bad_categorical";
    case RowError::LineTooLong: return "line_too_long";
    case RowError::TruncatedInput: return "truncated_input";
  }
  return "unknown";
}

std::string column_name(int column, bool labeled) {
  if (column < 0) return "line";
  int c = labeled ? column - 1 : column;
  if (labeled && column == 0) return "label";
  if (c < kNumIntFields) return "I" + std::to_string(c + 1);
  if (c < kNumFields) return "C" + std::to_string(c - kNumIntFields + 1);
  return "column " + std::to_string(column + 1);
}

bool parse_criteo_line(const char* line, size_t len, LabelMode mode, CriteoRow& row,
                       ParseFailure& failure) {
  row.had_crlf = false;
  if (len > 0 && line[len - 1] == '\r') {
    --len;
    row.had_crlf = true;
  }
  if (len == 0) return fail(failure, RowError::EmptyLine, -1, "empty line");
  const char* end = line + len;

  // Column count decides the layout (labeled or not) before any field is read.
  const size_t tabs = static_cast<size_t>(std::count(line, end, '\t'));
  const size_t columns = tabs + 1;
  bool labeled;
  if (columns == kNumFields + 1 && mode != LabelMode::Forbidden) {
    labeled = true;
  } else if (columns == kNumFields && mode != LabelMode::Required) {
    labeled = false;
  } else {
    std::string expected = mode == LabelMode::Required    ? "40 (label + 39 features)"
                           : mode == LabelMode::Forbidden ? "39 (features only)"
                                                          : "40 (labeled) or 39 (unlabeled)";
    return fail(failure, RowError::ColumnCount, -1,
                "expected " + expected + " tab-separated columns, found " + std::to_string(columns));
  }

  const char* p = line;
  int column = 0;
  if (labeled) {
    if (end - p >= 2 && (p[0] == '0' || p[0] == '1') && p[1] == '\t') {
      row.label = p[0] - '0';
      p += 2;
    } else {
      const char* q = std::find(p, end, '\t');
      return fail(failure, RowError::BadLabel, 0, "label must be 0 or 1, found '" + shorten(p, q) + "'");
    }
    column = 1;
  } else {
    row.label = -1;
  }

  for (int i = 0; i < kNumIntFields; ++i, ++column) {
    const char* start = p;
    if (p == end || *p == '\t') {
      row.int_present[i] = false;
      row.int_value[i] = 0;
    } else {
      bool negative = false;
      if (*p == '-') {
        negative = true;
        ++p;
      }
      int64_t v = 0;
      int digits = 0;
      while (p < end && static_cast<unsigned>(*p - '0') < 10u) {
        v = v * 10 + (*p - '0');
        ++p;
        if (++digits > kMaxIntDigits) {
          const char* q = std::find(start, end, '\t');
          return fail(failure, RowError::BadInteger, column,
                      "integer too long: '" + shorten(start, q) + "'");
        }
      }
      if (digits == 0 || (p < end && *p != '\t')) {
        const char* q = std::find(start, end, '\t');
        return fail(failure, RowError::BadInteger, column, "not an integer: '" + shorten(start, q) + "'");
      }
      row.int_present[i] = true;
      row.int_value[i] = negative ? -v : v;
    }
    ++p;  // the tab (or one past the end on the last column, never read)
  }

  for (int i = 0; i < kNumCatFields; ++i, ++column) {
    const char* start = p;
    if (p >= end || *p == '\t') {
      row.cat_present[i] = false;
      row.cat_value[i] = 0;
    } else {
      uint32_t v = 0;
      int digits = 0;
      int h;
      while (p < end && (h = hex_value(static_cast<unsigned char>(*p))) >= 0) {
        if (++digits > kMaxHexDigits) {
          const char* q = std::find(start, end, '\t');
          return fail(failure, RowError::BadCategorical, column,
                      "categorical value longer than 8 hex digits: '" + shorten(start, q) + "'");
        }
        v = (v << 4) | static_cast<uint32_t>(h);
        ++p;
      }
      if (p < end && *p != '\t') {
        const char* q = std::find(start, end, '\t');
        return fail(failure, RowError::BadCategorical, column,
                    "categorical value is not hexadecimal: '" + shorten(start, q) + "'");
      }
      row.cat_present[i] = true;
      row.cat_value[i] = v;
    }
    ++p;
  }
  return true;
}

}  // namespace sparsetrain::data
