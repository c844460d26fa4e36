#include "sparsetrain/data/criteo_row.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace sparsetrain::data {
namespace {

// Longest integer we accept: 18 digits always fits int64 without overflow checks.
constexpr int kMaxIntDigits = 18;
// Criteo categorical values are 32-bit hashes printed as 8 hex digits.
constexpr int kMaxHexDigits = 8;

// Hex digit values, -1 for anything else: a table, since digits and letters alternate
// at random in hash values and branches on them mispredict.
constexpr auto kHexTable = [] {
  std::array<int8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = c >= '0' && c <= '9'   ? static_cast<int8_t>(c - '0')
           : c >= 'a' && c <= 'f' ? static_cast<int8_t>(c - 'a' + 10)
           : c >= 'A' && c <= 'F' ? static_cast<int8_t>(c - 'A' + 10)
                                  : int8_t{-1};
  }
  return t;
}();
inline int hex_value(unsigned char c) { return kHexTable[c]; }

// Fast paths: 8 bytes at a time (SWAR) for the common field shapes, a 1..7 digit
// unsigned integer and an 8-digit hex value. Anything else, errors included, takes the
// byte-by-byte path, which decides and words the result.
constexpr bool kSwar = std::endian::native == std::endian::little;
constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHigh = 0x8080808080808080ULL;

inline uint64_t load8(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}

// High bit of each byte set where lo <= byte <= hi (bytes >= 0x80 never match; lo >= 1).
constexpr uint64_t bytes_in_range(uint64_t x, unsigned lo, unsigned hi) {
  const uint64_t y = x & ~kHigh;
  const uint64_t ge_lo = y + kOnes * (0x80 - lo);
  const uint64_t gt_hi = y + kOnes * (0x7f - hi);
  return ge_lo & ~gt_hi & ~x & kHigh;
}

// Leading unsigned decimal of up to 7 digits followed by a tab: its value and length.
inline bool swar_uint(const char* p, int64_t& value, int& len) {
  const uint64_t x = load8(p);
  const uint64_t nondigit = ~bytes_in_range(x, '0', '9') & kHigh;
  if (nondigit == 0) return false;  // 8+ digits
  len = std::countr_zero(nondigit) >> 3;
  if (len == 0 || p[len] != '\t') return false;
  // Right-align the digits (leading zero bytes are leading zeros), then combine pairwise.
  uint64_t d = (x & 0x0F0F0F0F0F0F0F0FULL) << (8 * (8 - len));
  d = d * 10 + (d >> 8);
  d = (((d & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
       (((d >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >>
      32;
  value = static_cast<int64_t>(static_cast<uint32_t>(d));
  return true;
}

// Exactly 8 hex digits at p (p[8] must be checked by the caller).
inline bool swar_hex8(const char* p, uint32_t& value) {
  const uint64_t x = load8(p);
  const uint64_t digit = bytes_in_range(x, '0', '9');
  const uint64_t alpha = bytes_in_range(x | 0x2020202020202020ULL, 'a', 'f');
  if ((digit | alpha) != kHigh) return false;
  // Nibble per byte (first character = most significant), then pack them.
  const uint64_t n = (x & 0x0F0F0F0F0F0F0F0FULL) + (alpha >> 7) * 9;
  const uint64_t t = ((n << 4) & 0x00F000F000F000F0ULL) | ((n >> 8) & 0x000F000F000F000FULL);
  const uint64_t u = ((t << 8) & 0x0000FF000000FF00ULL) | ((t >> 16) & 0x000000FF000000FFULL);
  value = static_cast<uint32_t>(((u << 16) & 0xFFFF0000ULL) | ((u >> 32) & 0xFFFFULL));
  return true;
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
  // (append, not "I" + std::string: GCC 12 raises a false -Wrestrict on the latter)
  if (c < kNumIntFields) return std::string("I").append(std::to_string(c + 1));
  if (c < kNumFields) return std::string("C").append(std::to_string(c - kNumIntFields + 1));
  return "column " + std::to_string(column + 1);
}

namespace {

// The column count decides the layout (labeled or not) before any field is read.
bool detect_layout(const char* line, const char* end, LabelMode mode, bool& labeled, ParseFailure& failure) {
  const size_t columns = static_cast<size_t>(std::count(line, end, '\t')) + 1;
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
  failure.labeled = labeled;  // names the columns of any field error after this
  return true;
}

// The two slow paths below are inlined into the field loops: out of line, parsing took 5%
// longer (bench_parse_bench, lines+parse, 3 runs each), as the SWAR path often declines a
// line's last fields (fewer than 8 bytes left).
//
// An integer field the SWAR path did not take (a sign, 8 or more digits, fewer than 8 bytes
// left in the line, or an error).
// Leaves p on the tab or end after the field.
[[gnu::always_inline]] inline bool parse_int_field(const char*& p, const char* end, int column, int64_t& value,
                                                   ParseFailure& failure) {
  const char* start = p;
  bool negative = false;
  if (*p == '-') {
    negative = true;
    ++p;
  }
  int64_t v = 0;
  int digits = 0;
  while (p < end && static_cast<unsigned>(*p - '0') < 10u) {
    if (++digits > kMaxIntDigits) {  // before the 19th digit's multiply, which could overflow
      const char* q = std::find(start, end, '\t');
      return fail(failure, RowError::BadInteger, column, "integer too long: '" + shorten(start, q) + "'");
    }
    v = v * 10 + (*p - '0');
    ++p;
  }
  if (digits == 0 || (p < end && *p != '\t')) {
    const char* q = std::find(start, end, '\t');
    return fail(failure, RowError::BadInteger, column, "not an integer: '" + shorten(start, q) + "'");
  }
  value = negative ? -v : v;
  return true;
}

// A categorical field the SWAR path did not take (not exactly 8 hex digits, or an error).
[[gnu::always_inline]] inline bool parse_cat_field(const char*& p, const char* end, int column, uint32_t& value,
                                                   ParseFailure& failure) {
  const char* start = p;
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
  value = v;
  return true;
}

}  // namespace

bool parse_criteo_line(const char* line, size_t len, LabelMode mode, CriteoRow& row, ParseFailure& failure) {
  row.had_crlf = false;
  if (len > 0 && line[len - 1] == '\r') {
    --len;
    row.had_crlf = true;
  }
  if (len == 0) return fail(failure, RowError::EmptyLine, -1, "empty line");
  const char* end = line + len;
  bool labeled = false;
  if (!detect_layout(line, end, mode, labeled, failure)) return false;

  const char* p = line;
  int column = 0;
  row.label = -1;
  if (labeled) {
    if (!(end - p >= 2 && (p[0] == '0' || p[0] == '1') && p[1] == '\t')) {
      const char* q = std::find(p, end, '\t');
      return fail(failure, RowError::BadLabel, 0, "label must be 0 or 1, found '" + shorten(p, q) + "'");
    }
    row.label = p[0] - '0';
    p += 2;
    column = 1;
  }

  int fast_len = 0;
  for (int i = 0; i < kNumIntFields; ++i, ++column) {
    if (p == end || *p == '\t') {
      row.int_present[i] = false;
      row.int_value[i] = 0;
    } else if (kSwar && end - p >= 8 && swar_uint(p, row.int_value[i], fast_len)) {
      row.int_present[i] = true;
      p += fast_len;
    } else if (parse_int_field(p, end, column, row.int_value[i], failure)) {
      row.int_present[i] = true;
    } else {
      return false;
    }
    ++p;  // the tab (or one past the end on the last column, never read)
  }

  for (int i = 0; i < kNumCatFields; ++i, ++column) {
    if (p >= end || *p == '\t') {
      row.cat_present[i] = false;
      row.cat_value[i] = 0;
    } else if (kSwar && end - p >= 8 && (end - p == 8 || p[8] == '\t') && swar_hex8(p, row.cat_value[i])) {
      row.cat_present[i] = true;
      p += 8;
    } else if (parse_cat_field(p, end, column, row.cat_value[i], failure)) {
      row.cat_present[i] = true;
    } else {
      return false;
    }
    ++p;
  }
  return true;
}

}  // namespace sparsetrain::data
