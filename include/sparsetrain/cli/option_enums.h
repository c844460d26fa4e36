#pragma once
// Keys with a fixed set of values are enums in Config. Each enum's names are listed once,
// in its OptionNames table below: parsing (Boost.Program_options reads values through
// operator>>), writing (to_ini, --help), validation and the allowed-values text all come
// from that table. train/setup.cpp maps them to the modules' own enums.
#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sparsetrain::cli {

enum class OnError { Skip, Fail };
enum class IntEncoding { LogSquared, Identity };
enum class LshFamily { SimHash, Dwta };
enum class OptimizerName { Adam, Sgd };
enum class Moments { Float32, Bfloat16 };
enum class SkippedSteps { Decay, Hold };
enum class LrSchedule { Linear, Constant };
enum class TableEps { Corrected, Raw };
enum class InitScheme { Sparsetrain, Pytorch };
enum class Kernels { Auto, Scalar, Avx512 };
enum class Denormals { Flush, Keep };
enum class Exchange { Auto, Sparse, Dense };
enum class Embedding { Sharded, Replicated };
enum class Resume { Auto, Never };

template <typename E> struct OptionNames;

#define ST_OPTION_NAMES(E, ...) \
  template <> struct OptionNames<E> { static constexpr std::pair<E, const char*> values[] = {__VA_ARGS__}; };
ST_OPTION_NAMES(OnError, {OnError::Skip, "skip"}, {OnError::Fail, "fail"})
ST_OPTION_NAMES(IntEncoding, {IntEncoding::LogSquared, "log_squared"}, {IntEncoding::Identity, "identity"})
ST_OPTION_NAMES(LshFamily, {LshFamily::SimHash, "simhash"}, {LshFamily::Dwta, "dwta"})
ST_OPTION_NAMES(OptimizerName, {OptimizerName::Adam, "adam"}, {OptimizerName::Sgd, "sgd"})
ST_OPTION_NAMES(Moments, {Moments::Float32, "float32"}, {Moments::Bfloat16, "bfloat16"})
ST_OPTION_NAMES(SkippedSteps, {SkippedSteps::Decay, "decay"}, {SkippedSteps::Hold, "hold"})
ST_OPTION_NAMES(LrSchedule, {LrSchedule::Linear, "linear"}, {LrSchedule::Constant, "constant"})
ST_OPTION_NAMES(TableEps, {TableEps::Corrected, "corrected"}, {TableEps::Raw, "raw"})
ST_OPTION_NAMES(InitScheme, {InitScheme::Sparsetrain, "sparsetrain"}, {InitScheme::Pytorch, "pytorch"})
ST_OPTION_NAMES(Kernels, {Kernels::Auto, "auto"}, {Kernels::Scalar, "scalar"}, {Kernels::Avx512, "avx512"})
ST_OPTION_NAMES(Denormals, {Denormals::Flush, "flush"}, {Denormals::Keep, "keep"})
ST_OPTION_NAMES(Exchange, {Exchange::Auto, "auto"}, {Exchange::Sparse, "sparse"}, {Exchange::Dense, "dense"})
ST_OPTION_NAMES(Embedding, {Embedding::Sharded, "sharded"}, {Embedding::Replicated, "replicated"})
ST_OPTION_NAMES(Resume, {Resume::Auto, "auto"}, {Resume::Never, "never"})
#undef ST_OPTION_NAMES

template <typename E>
concept OptionEnum = requires {
  OptionNames<E>::values;
};

template <OptionEnum E> const char* name_of(E value) {
  for (const auto& [e, name] : OptionNames<E>::values)
    if (e == value) return name;
  return "?";
}

// false (and `out` untouched) when `text` is none of E's names.
template <OptionEnum E> bool parse_option(std::string_view text, E& out) {
  for (const auto& [e, name] : OptionNames<E>::values)
    if (text == name) {
      out = e;
      return true;
    }
  return false;
}

template <OptionEnum E> std::vector<std::string> option_names() {
  std::vector<std::string> names;
  for (const auto& entry : OptionNames<E>::values) names.emplace_back(entry.second);
  return names;
}

template <OptionEnum E> std::ostream& operator<<(std::ostream& os, E value) { return os << name_of(value); }

// A name that is none of E's sets failbit: Boost.Program_options then reports the key, the
// value and (config.cpp) the allowed names.
template <OptionEnum E> std::istream& operator>>(std::istream& is, E& value) {
  std::string text;
  if (is >> text && !parse_option(text, value)) is.setstate(std::ios::failbit);
  return is;
}

}  // namespace sparsetrain::cli
