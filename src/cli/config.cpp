#include "sparsetrain/cli/config.h"

#include <boost/program_options.hpp>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>

namespace po = boost::program_options;

namespace sparsetrain::cli {
namespace {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : text) {
    if (c == ',') {
      parts.push_back(current);
      current.clear();
    } else if (c != ' ' && c != '\t') {
      current.push_back(c);
    }
  }
  if (!current.empty() || !parts.empty()) parts.push_back(current);
  return parts;
}

bool parse_ll(const std::string& s, long long& out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtoll(s.c_str(), &end, 10);
  return errno == 0 && end && *end == '\0';
}

bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return errno == 0 && end && *end == '\0' && std::isfinite(out);
}

std::string format_value(const std::string& v) { return v; }
std::string format_value(bool v) { return v ? "true" : "false"; }
// Shortest text that reads back to the same double (15 digits unless more are needed).
std::string format_value(double v) {
  for (int precision : {15, 17}) {
    std::ostringstream os;
    os << std::setprecision(precision) << v;
    if (precision == 17 || std::strtod(os.str().c_str(), nullptr) == v) return os.str();
  }
  return "";
}
template <typename T> std::string format_value(const T& v) {
  if constexpr (OptionEnum<T>)
    return name_of(v);
  else
    return std::to_string(v);
}

// Checks one value against its rule; returns "" when fine, else what is wrong.
std::string check(const Rule& rule, const std::string& v) {
  // to_ini() must read back the same (the resolved config.ini, a model's stored config): an
  // INI value ends at '#' or at the line's end, and loses blanks at either end.
  if (v.find_first_of("#\n\r") != std::string::npos) return "an INI file cannot hold '#' or a line break";
  if (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.back() == ' ' || v.back() == '\t'))
    return "blanks at either end would be lost in an INI file";
  switch (rule.kind) {
    case Rule::Kind::AnyText: return "";
    case Rule::Kind::NonEmptyText: return v.empty() ? "empty" : "";
    case Rule::Kind::OneOf:
      for (const auto& c : rule.choices)
        if (c == v) return "";
      return "not one of the choices";
    case Rule::Kind::IntList: {
      for (const auto& p : split_commas(v)) {
        long long x;
        if (!parse_ll(p, x)) return "'" + p + "' is not an integer";
        if (x < rule.int_lo || x > rule.int_hi) return "'" + p + "' is out of range";
      }
      return "";
    }
    case Rule::Kind::FractionList: {
      auto parts = split_commas(v);
      if (parts.empty()) return "empty";
      for (const auto& p : parts) {
        double x;
        if (!parse_double(p, x)) return "'" + p + "' is not a number";
        if (!(x > 0.0 && x <= 1.0)) return "'" + p + "' is outside (0, 1]";
      }
      return "";
    }
    default: return "";
  }
}
std::string check(const Rule& rule, int64_t v) { return (v < rule.int_lo || v > rule.int_hi) ? "out of range" : ""; }
std::string check(const Rule& rule, int v) { return check(rule, static_cast<int64_t>(v)); }
std::string check(const Rule& rule, double v) {
  return (!std::isfinite(v) || v < rule.real_lo || v > rule.real_hi) ? "out of range" : "";
}
std::string check(const Rule&, bool) { return ""; }
template <OptionEnum E> std::string check(const Rule&, E) {  // operator>> accepted only its names
  return "";
}

[[noreturn]] void fail_value(const std::string& key, const std::string& value, const Rule& rule,
                             const std::string& why) {
  throw ConfigError("invalid value '" + value + "' for " + key + " (" + why + "); allowed: " + rule.allowed());
}

// Rule of every key by its dotted name, for error messages from Boost's type parsing.
const std::map<std::string, Rule>& rules_by_key() {
  static const std::map<std::string, Rule> rules = [] {
    std::map<std::string, Rule> m;
#define ST_RULE_ENTRY(sec, name, type, def, rule, help) m.emplace(#sec "." #name, rule);
#define ST_RULE_SECTION(sec) ST_KEYS_##sec(ST_RULE_ENTRY)
    ST_CONFIG_SECTIONS(ST_RULE_SECTION)
#undef ST_RULE_SECTION
#undef ST_RULE_ENTRY
    return m;
  }();
  return rules;
}

po::options_description key_options() {
  po::options_description desc("Configuration keys (INI section.key; override any with --section.key VALUE)");
  auto add = desc.add_options();
#define ST_OPTION_ENTRY(sec, name, type, def, rule, help)                                   \
  add(#sec "." #name, po::value<type>()->default_value(type(def), format_value(type(def))), \
      (std::string(help) + "; allowed: " + (rule).allowed()).c_str());
#define ST_OPTION_SECTION(sec) ST_KEYS_##sec(ST_OPTION_ENTRY)
  ST_CONFIG_SECTIONS(ST_OPTION_SECTION)
#undef ST_OPTION_SECTION
#undef ST_OPTION_ENTRY
  return desc;
}

po::options_description general_options(const std::vector<ExtraOption>& extras) {
  po::options_description desc("Options");
  desc.add_options()("help,h", "Show this help")("config", po::value<std::string>(),
                                                 "INI config file; command-line keys override it");
  for (const auto& e : extras) {
    std::string help = e.help;
    if (e.required) help += " (required)";
    if (e.default_value.empty()) {
      desc.add_options()(e.name.c_str(), po::value<std::string>(), help.c_str());
    } else {
      desc.add_options()(e.name.c_str(), po::value<std::string>()->default_value(e.default_value), help.c_str());
    }
  }
  return desc;
}

// The text of a Boost error with an option name. Boost 1.74's what() replaces each %name%
// placeholder of the template until none is left, so a value or option that itself holds
// the placeholder (--train.batch_size %value%, --%canonical_option%, an INI line
// %invalid_line%) never finishes (found by the config fuzzer); this fills the same
// template in one pass.
class OptionErrorText : public po::error_with_option_name {
 public:
  explicit OptionErrorText(const po::error_with_option_name& e) : po::error_with_option_name(e) {}
  std::string text() const {
    std::map<std::string, std::string> subs = m_substitutions;
    subs["canonical_option"] = get_canonical_option_name();
    subs["prefix"] = get_canonical_option_prefix();
    std::string templ = m_error_template;
    for (const auto& [name, from_to] : m_substitution_defaults) {  // Boost's own texts: no user data
      if (!subs[name].empty()) continue;
      for (size_t at = 0; (at = templ.find(from_to.first, at)) != std::string::npos; at += from_to.second.size())
        templ.replace(at, from_to.first.size(), from_to.second);
    }
    std::string out;
    for (size_t i = 0; i < templ.size();) {
      const size_t end = templ[i] == '%' ? templ.find('%', i + 1) : std::string::npos;
      const auto it = end == std::string::npos ? subs.end() : subs.find(templ.substr(i + 1, end - i - 1));
      if (it == subs.end()) {
        out += templ[i++];
      } else {
        out += it->second;
        i = end + 1;
      }
    }
    return out;
  }
};

// Re-throws Boost's parse errors with the key, the value and what is allowed.
[[noreturn]] void rethrow_boost(const po::error& e, const std::string& where) {
  const auto* named = dynamic_cast<const po::error_with_option_name*>(&e);
  std::string msg = named ? OptionErrorText(*named).text() : std::string(e.what());
  if (auto* ov = dynamic_cast<const po::validation_error*>(&e)) {
    std::string key = ov->get_option_name();
    while (!key.empty() && key[0] == '-') key.erase(0, 1);
    auto it = rules_by_key().find(key);
    if (it != rules_by_key().end()) msg += "; allowed: " + it->second.allowed();
  } else if (dynamic_cast<const po::unknown_option*>(&e)) {
    msg += " (see 'sparsetrain <command> --help' for the keys that exist)";
  }
  throw ConfigError(where + msg);
}

}  // namespace

std::string Rule::allowed() const {
  std::ostringstream os;
  switch (kind) {
    case Kind::AnyText: os << "any text"; break;
    case Kind::NonEmptyText: os << "a non-empty text"; break;
    case Kind::AnyBool: os << "true or false"; break;
    case Kind::OneOf:
      os << "one of ";
      for (size_t i = 0; i < choices.size(); ++i) os << (i ? "|" : "") << choices[i];
      break;
    case Kind::IntRange: os << "an integer in [" << int_lo << ", " << int_hi << "]"; break;
    case Kind::RealRange: os << "a number in [" << real_lo << ", " << real_hi << "]"; break;
    case Kind::IntList: os << "comma-separated integers in [" << int_lo << ", " << int_hi << "]"; break;
    case Kind::FractionList: os << "comma-separated numbers in (0, 1]"; break;
  }
  return os.str();
}

Rule any_text() { return Rule{}; }
Rule nonempty_text() {
  Rule r;
  r.kind = Rule::Kind::NonEmptyText;
  return r;
}
Rule any_bool() {
  Rule r;
  r.kind = Rule::Kind::AnyBool;
  return r;
}
Rule one_of(std::vector<std::string> choices) {
  Rule r;
  r.kind = Rule::Kind::OneOf;
  r.choices = std::move(choices);
  return r;
}
Rule int_range(long long lo, long long hi) {
  Rule r;
  r.kind = Rule::Kind::IntRange;
  r.int_lo = lo;
  r.int_hi = hi;
  return r;
}
Rule real_range(double lo, double hi) {
  Rule r;
  r.kind = Rule::Kind::RealRange;
  r.real_lo = lo;
  r.real_hi = hi;
  return r;
}
Rule int_list(long long lo, long long hi) {
  Rule r = int_range(lo, hi);
  r.kind = Rule::Kind::IntList;
  return r;
}
Rule fraction_list() {
  Rule r;
  r.kind = Rule::Kind::FractionList;
  return r;
}

void validate(const Config& config) {
#define ST_VALIDATE_ENTRY(sec, name, type, def, rule, help)  \
  if (auto why = check(rule, config.sec.name); !why.empty()) \
    fail_value(#sec "." #name, format_value(config.sec.name), rule, why);
#define ST_VALIDATE_SECTION(sec) ST_KEYS_##sec(ST_VALIDATE_ENTRY)
  ST_CONFIG_SECTIONS(ST_VALIDATE_SECTION)
#undef ST_VALIDATE_SECTION
#undef ST_VALIDATE_ENTRY
  // Cross-key checks.
  const auto hidden = hidden_sizes(config);
  const auto sparsity = split_commas(config.model.sparsity);
  if (sparsity.size() != 1 && sparsity.size() != hidden.size()) {
    throw ConfigError("model.sparsity has " + std::to_string(sparsity.size()) + " values but model.hidden has " +
                      std::to_string(hidden.size()) + " layers; allowed: one value for all layers or one per layer");
  }
  if (config.model.embed_sparsity <= 0.0)
    throw ConfigError("model.embed_sparsity = 0: allowed: a fraction in (0, 1] of model.embed_dim");
  if (config.model.embed_sparsity < 1.0 && config.model.embed_dim % 16 != 0)
    throw ConfigError("model.embed_sparsity < 1 computes outputs in blocks of 16: model.embed_dim = " +
                      std::to_string(config.model.embed_dim) + " is not a multiple of 16");
  if (config.model.embed_sparsity < 1.0 && config.data.input_dim * (config.model.embed_dim / 16) > (1LL << 32))
    throw ConfigError("model.embed_sparsity < 1: data.input_dim x model.embed_dim / 16 must be at most 2^32");
}

ParsedArgs parse_args(const std::vector<std::string>& args, const std::vector<ExtraOption>& extras,
                      const std::string& base_ini) {
  po::options_description all;
  all.add(general_options(extras)).add(key_options());
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).run(), vm);
  } catch (const po::error& e) {
    rethrow_boost(e, "command line: ");
  }
  ParsedArgs out;  // (--help never gets here: every command answers it before parsing)
  if (vm.count("config")) {
    out.config_file = vm["config"].as<std::string>();
    // A directory opens as a stream that reads nothing: it would pass as an empty config
    // and the run would go on with the defaults.
    std::error_code ec;
    if (std::filesystem::is_directory(out.config_file, ec))
      throw ConfigError("config file '" + out.config_file + "' is a directory; give an INI file (configs/*.ini)");
    std::ifstream in(out.config_file);
    if (!in) throw ConfigError("cannot open config file '" + out.config_file + "'");
    try {
      // Values already stored from the command line win: po::store never overwrites.
      po::store(po::parse_config_file(in, key_options(), /*allow_unregistered=*/false), vm);
    } catch (const po::error& e) {
      rethrow_boost(e, "config file '" + out.config_file + "': ");
    }
  }
  if (!base_ini.empty()) {
    std::istringstream in(base_ini);
    try {
      po::store(po::parse_config_file(in, key_options(), /*allow_unregistered=*/false), vm);
    } catch (const po::error& e) {
      rethrow_boost(e, "stored config: ");
    }
  }
  try {
    po::notify(vm);
  } catch (const po::error& e) {
    rethrow_boost(e, "");
  }
  for (const auto& e : extras) {
    if (vm.count(e.name)) {
      if (e.target) *e.target = vm[e.name].as<std::string>();
    } else if (e.required) {
      throw ConfigError("missing required option --" + e.name + " (" + e.help + ")");
    }
  }
#define ST_READ_ENTRY(sec, name, type, def, rule, help) out.config.sec.name = vm[#sec "." #name].as<type>();
#define ST_READ_SECTION(sec) ST_KEYS_##sec(ST_READ_ENTRY)
  ST_CONFIG_SECTIONS(ST_READ_SECTION)
#undef ST_READ_SECTION
#undef ST_READ_ENTRY
  validate(out.config);
  return out;
}

void print_help(std::ostream& os, const std::string& command, const std::vector<ExtraOption>& extras) {
  os << "Usage: sparsetrain " << command << " [--config FILE] [--section.key VALUE ...]\n\n";
  os << general_options(extras) << "\n" << key_options() << "\n";
}

std::string to_ini(const Config& config) {
  std::ostringstream os;
  std::string current;
#define ST_INI_ENTRY(sec, name, type, def, rule, help)     \
  if (current != #sec) {                                   \
    os << (current.empty() ? "" : "\n") << "[" #sec "]\n"; \
    current = #sec;                                        \
  }                                                        \
  os << #name " = " << format_value(config.sec.name) << "\n";
#define ST_INI_SECTION(sec) ST_KEYS_##sec(ST_INI_ENTRY)
  ST_CONFIG_SECTIONS(ST_INI_SECTION)
#undef ST_INI_SECTION
#undef ST_INI_ENTRY
  return os.str();
}

std::map<std::string, std::string> ini_key_values(const std::string& ini) {
  std::istringstream in(ini);
  std::map<std::string, std::string> out;
  try {
    const po::options_description none;  // every key is unregistered: taken as it is
    for (const auto& option : po::parse_config_file(in, none, /*allow_unregistered=*/true).options)
      out[option.string_key] = option.value.empty() ? std::string() : option.value.back();
  } catch (const po::error& e) {
    throw ConfigError(std::string("INI text: ") + e.what());
  }
  return out;
}

std::vector<int> hidden_sizes(const Config& config) {
  std::vector<int> sizes;
  for (const auto& p : split_commas(config.model.hidden)) {
    long long x;
    if (parse_ll(p, x)) sizes.push_back(static_cast<int>(x));
  }
  return sizes;
}

std::vector<double> layer_sparsity(const Config& config) {
  const auto hidden = hidden_sizes(config);
  std::vector<double> values;
  for (const auto& p : split_commas(config.model.sparsity)) {
    double x;
    if (parse_double(p, x)) values.push_back(x);
  }
  if (values.size() == 1) values.assign(hidden.size(), values[0]);
  return values;
}

}  // namespace sparsetrain::cli
