#pragma once
// Run configuration: INI file (--config FILE) plus command-line overrides of any key
// (--section.key VALUE), parsed with Boost.Program_options. Keys, types, defaults,
// allowed values and help live in config_keys.h only.
#include <iosfwd>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "sparsetrain/cli/config_keys.h"
#include "sparsetrain/cli/option_enums.h"

namespace sparsetrain::cli {

// What values a key allows; checked after parsing, before any work starts.
struct Rule {
  enum class Kind { AnyText, NonEmptyText, OneOf, IntRange, RealRange, IntList, FractionList, AnyBool };
  Kind kind = Kind::AnyText;
  long long int_lo = 0, int_hi = 0;
  double real_lo = 0, real_hi = 0;
  std::vector<std::string> choices;

  // Human-readable description of the allowed values, e.g. "an integer in [1, 4194304]".
  std::string allowed() const;
};
Rule any_text();
Rule nonempty_text();
Rule any_bool();
Rule one_of(std::vector<std::string> choices);
template <OptionEnum E> Rule one_of_enum() { return one_of(option_names<E>()); }
Rule int_range(long long lo, long long hi);
Rule real_range(double lo, double hi);
Rule int_list(long long lo, long long hi);  // comma-separated integers, each in [lo, hi]
Rule fraction_list();                       // comma-separated numbers, each in (0, 1]

// A bad key or value: the message names the key, the value and what is allowed.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One struct per INI section, one member per key, defaults from config_keys.h.
namespace section {
#define ST_DECLARE_FIELD(sec, name, type, def, rule, help) type name = def;
#define ST_DECLARE_SECTION(sec)     \
  struct sec {                      \
    ST_KEYS_##sec(ST_DECLARE_FIELD) \
  };
ST_CONFIG_SECTIONS(ST_DECLARE_SECTION)
#undef ST_DECLARE_SECTION
#undef ST_DECLARE_FIELD
}  // namespace section

struct Config {
#define ST_SECTION_MEMBER(sec) section::sec sec;
  ST_CONFIG_SECTIONS(ST_SECTION_MEMBER)
#undef ST_SECTION_MEMBER
};

// Extra, subcommand-specific options (e.g. evaluate's --model) declared by the caller.
struct ExtraOption {
  std::string name;  // e.g. "model"
  std::string help;
  std::string default_value;  // empty and required=false -> optional
  bool required = false;
  std::string* target = nullptr;
};

struct ParsedArgs {
  Config config;
  std::string config_file;  // "" when none was given
};

// Parses `args` (everything after the subcommand). Precedence: command line > --config
// file > defaults. Throws ConfigError on unknown keys, bad types, out-of-range values,
// a missing/unreadable config file, or a missing required extra option.
// `base_ini`, when given, sits below the config file (used by evaluate/predict to start
// from the config stored in the model file).
ParsedArgs parse_args(const std::vector<std::string>& args, const std::vector<ExtraOption>& extras = {},
                      const std::string& base_ini = "");

// `--help` text: every key with its default and meaning (plus the extras).
void print_help(std::ostream& os, const std::string& command, const std::vector<ExtraOption>& extras = {});

// Resolved config as an INI file that parse_args reads back to the same Config.
std::string to_ini(const Config& config);

// The keys of an INI text and their values, "section.key" -> value, read as parse_args
// reads a config file (Boost.Program_options: '#' starts a comment, names and values are
// trimmed; a repeated key keeps its last value) but without checking the keys against
// this build's or their values: for comparing a stored config with another. Throws
// ConfigError on a line that is neither blank, a comment, a [section] nor key = value.
std::map<std::string, std::string> ini_key_values(const std::string& ini);

// Validates every key against its rule; throws ConfigError naming the first bad key.
void validate(const Config& config);

// Derived views of list-valued keys.
std::vector<int> hidden_sizes(const Config& config);
std::vector<double> layer_sparsity(const Config& config);  // one entry per hidden layer

}  // namespace sparsetrain::cli
