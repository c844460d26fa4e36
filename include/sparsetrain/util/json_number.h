#pragma once
// A number as a JSON value: %.Ng, or null where JSON has no number (NaN, infinities), so
// every metrics and summary line stays valid JSON.
#include <cmath>
#include <cstdio>
#include <string>

namespace sparsetrain::util {

inline std::string json_number(double v, int precision = 6) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

}  // namespace sparsetrain::util
