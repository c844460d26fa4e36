// Fuzzes the Criteo row parser and the featurizer (src/data/criteo_row.cpp, featurizer.cpp).
// Input: one line's bytes (as LineSource hands them out: no '\n'). Besides the sanitizers'
// checks, it asserts:
//  * the three label modes agree with each other (same row or the same error);
//  * a parsed row written back in a canonical form, and again in a padded form that takes
//    the other code path (8-byte SWAR vs byte by byte), parses to the same row;
//  * every feature id is in [0, input_dim) and every dense value finite and >= 0.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "fuzz_util.h"
#include "sparsetrain/data/criteo_row.h"
#include "sparsetrain/data/featurizer.h"

using namespace sparsetrain::data;

namespace {

bool same_row(const CriteoRow& a, const CriteoRow& b) {
  if (a.label != b.label) return false;
  for (int i = 0; i < kNumIntFields; ++i)
    if (a.int_present[i] != b.int_present[i] || (a.int_present[i] && a.int_value[i] != b.int_value[i])) return false;
  for (int i = 0; i < kNumCatFields; ++i)
    if (a.cat_present[i] != b.cat_present[i] || (a.cat_present[i] && a.cat_value[i] != b.cat_value[i])) return false;
  return true;
}

// The row as text. padded = false: shortest form (ints as printed by to_string, hex without
// leading zeros: mostly the SWAR int path and the byte-wise hex path); padded = true: ints
// with leading zeros to 18 digits (byte-wise path), hex as 8 upper-case digits (SWAR path).
std::string write_row(const CriteoRow& row, bool padded) {
  std::string s;
  if (row.label >= 0) s += static_cast<char>('0' + row.label);
  char buf[32];
  for (int i = 0; i < kNumIntFields; ++i) {
    if (row.label >= 0 || i > 0) s += '\t';
    if (!row.int_present[i]) continue;
    const int64_t v = row.int_value[i];
    if (padded) {
      std::snprintf(buf, sizeof buf, "%s%018llu", v < 0 ? "-" : "",
                    static_cast<unsigned long long>(v < 0 ? -static_cast<unsigned long long>(v) : v));
    } else {
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    }
    s += buf;
  }
  for (int i = 0; i < kNumCatFields; ++i) {
    s += '\t';
    if (!row.cat_present[i]) continue;
    std::snprintf(buf, sizeof buf, padded ? "%08X" : "%x", static_cast<unsigned>(row.cat_value[i]));
    s += buf;
  }
  return s;
}

void check_failure(const ParseFailure& f) {
  FUZZ_CHECK(f.error != RowError::None);
  FUZZ_CHECK(f.column >= -1 && f.column < kNumFields + 1);
  FUZZ_CHECK(!f.detail.empty());
  FUZZ_CHECK(std::strcmp(row_error_name(f.error), "unknown") != 0);
  FUZZ_CHECK(!column_name(f.column, f.labeled).empty());
}

struct Result {
  bool ok;
  CriteoRow row;
  ParseFailure failure;
};

Result parse(const std::string& line, LabelMode mode) {
  Result r{};
  r.ok = parse_criteo_line(line.data(), line.size(), mode, r.row, r.failure);
  if (!r.ok) check_failure(r.failure);
  return r;
}

void check_featurized(const Featurizer& fz, const CriteoRow& row) {
  uint32_t ids[Featurizer::kIdsPerRow];
  float dense[Featurizer::kDensePerRow];
  fz.featurize(row, ids, dense);
  for (uint32_t id : ids) FUZZ_CHECK(id < fz.options().input_dim);
  if (fz.options().dense_features)
    for (float d : dense) FUZZ_CHECK(std::isfinite(d) && d >= 0.0f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Featurizer log_squared(FeaturizerOptions{});
  static const Featurizer identity(FeaturizerOptions{
      .input_dim = 1ULL << 32, .hash_seed = 7, .int_encoding = IntEncoding::Identity, .dense_features = false});
  static const Featurizer tiny(FeaturizerOptions{
      .input_dim = 1, .hash_seed = 0, .int_encoding = IntEncoding::LogSquared, .dense_features = true});

  // An exact-size copy: ASan then flags any read past the line's end.
  const std::string line(reinterpret_cast<const char*>(data), size);
  const Result any = parse(line, LabelMode::Optional);
  const Result labeled = parse(line, LabelMode::Required);
  const Result unlabeled = parse(line, LabelMode::Forbidden);

  // Optional is Required on 40 columns and Forbidden on 39.
  FUZZ_CHECK(!(labeled.ok && unlabeled.ok));
  const Result& specific = labeled.ok ? labeled : unlabeled.ok ? unlabeled : any;
  FUZZ_CHECK(any.ok == (labeled.ok || unlabeled.ok));
  if (any.ok) {
    FUZZ_CHECK(same_row(any.row, specific.row));
    FUZZ_CHECK(any.row.had_crlf == (size > 0 && line.back() == '\r'));
    FUZZ_CHECK(any.row.label == -1 || any.row.label == 0 || any.row.label == 1);
    FUZZ_CHECK(labeled.ok ? any.row.label >= 0 : any.row.label == -1);
  } else if (labeled.failure.error != RowError::ColumnCount) {
    FUZZ_CHECK(any.failure.error == labeled.failure.error && any.failure.column == labeled.failure.column);
  } else if (unlabeled.failure.error != RowError::ColumnCount) {
    FUZZ_CHECK(any.failure.error == unlabeled.failure.error && any.failure.column == unlabeled.failure.column);
  } else {
    FUZZ_CHECK(any.failure.error == RowError::ColumnCount || any.failure.error == RowError::EmptyLine);
  }
  if (!any.ok) return 0;

  // Written back, both ways, it parses to the same row.
  for (bool padded : {false, true}) {
    const std::string again = write_row(any.row, padded);
    const Result back = parse(again, LabelMode::Optional);
    if (!back.ok) {
      std::fprintf(stderr, "re-written row does not parse (%s): %s\n", back.failure.detail.c_str(), again.c_str());
    }
    FUZZ_CHECK(back.ok);
    FUZZ_CHECK(same_row(back.row, any.row));
    FUZZ_CHECK(!back.row.had_crlf);
  }

  check_featurized(log_squared, any.row);
  check_featurized(identity, any.row);
  check_featurized(tiny, any.row);
  // featurize() gives each field the id int_id() gives it.
  uint32_t ids[Featurizer::kIdsPerRow];
  log_squared.featurize(any.row, ids, nullptr);
  for (int i = 0; i < kNumIntFields; ++i)
    FUZZ_CHECK(ids[i] == log_squared.int_id(i, any.row.int_present[i], any.row.int_value[i]));
  return 0;
}
