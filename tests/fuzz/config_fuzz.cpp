// Fuzzes the configuration loader (src/cli/config.cpp): INI text, read as a --config file
// or as the stored config of a model file, plus command-line overrides.
//
// Input: [control byte][INI text]\0[arg]\0[arg]\0...
//   control bit 0: 0 = the INI text is the base config (parse_args' base_ini, as evaluate
//                  reads a model's stored config); 1 = it is a --config file (an in-memory
//                  file passed by path)
// Properties, besides the sanitizers' checks:
//  * the only error is ConfigError (a message naming the key or file);
//  * a config that parses satisfies its rules: hidden layer widths and per-layer
//    sparsities in range, one sparsity per layer;
//  * to_ini() of it reads back (as a base config and as a config file) to the same config.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "sparsetrain/cli/config.h"

using namespace sparsetrain;

namespace {

// True for an argument Boost would take as --config (long names may be abbreviated and
// given as --name=value): those would open any path; the fuzzer passes its own file.
bool names_config(const std::string& arg) {
  size_t i = 0;
  while (i < arg.size() && arg[i] == '-') ++i;
  if (i == 0) return false;
  const std::string name =
      arg.substr(i, arg.find('=', i) == std::string::npos ? std::string::npos : arg.find('=', i) - i);
  return !name.empty() && std::string("config").compare(0, name.size(), name) == 0;
}

void check_valid(const cli::Config& c) {
  const auto hidden = cli::hidden_sizes(c);
  const auto sparsity = cli::layer_sparsity(c);
  FUZZ_CHECK(sparsity.size() == hidden.size());
  for (int h : hidden) FUZZ_CHECK(h >= 1 && h <= (1 << 24));
  for (double s : sparsity) FUZZ_CHECK(s > 0.0 && s <= 1.0);
  FUZZ_CHECK(c.data.input_dim >= 16);
  FUZZ_CHECK(c.model.embed_dim >= 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::MemFile ini_file("config_fuzz.ini");
  if (size < 1) return 0;
  const bool as_file = data[0] & 1;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t nul = rest.find('\0');
  const std::string ini = rest.substr(0, nul);
  std::vector<std::string> args;
  if (nul != std::string::npos) {
    size_t start = nul + 1;
    while (start <= rest.size() && args.size() < 64) {
      size_t end = rest.find('\0', start);
      if (end == std::string::npos) end = rest.size();
      std::string arg = rest.substr(start, end - start);
      if (!names_config(arg)) args.push_back(std::move(arg));
      start = end + 1;
    }
  }

  cli::Config config;
  try {
    if (as_file) {
      ini_file.write(ini.data(), ini.size());
      std::vector<std::string> with_file = args;
      with_file.push_back("--config");
      with_file.push_back(ini_file.path());
      config = cli::parse_args(with_file).config;
    } else {
      config = cli::parse_args(args, {}, ini).config;
    }
  } catch (const cli::ConfigError& e) {
    FUZZ_CHECK(e.what()[0] != '\0');
    return 0;
  }
  check_valid(config);

  // The resolved config reads back to itself, both ways it is read.
  const std::string resolved = cli::to_ini(config);
  std::string again;
  try {
    again = cli::to_ini(cli::parse_args({}, {}, resolved).config);
  } catch (const cli::ConfigError& e) {
    std::fprintf(stderr, "resolved config does not read back: %s\n%s", e.what(), resolved.c_str());
    FUZZ_CHECK(false);
  }
  if (again != resolved) std::fprintf(stderr, "resolved:\n%s\nread back:\n%s", resolved.c_str(), again.c_str());
  FUZZ_CHECK(again == resolved);
  ini_file.write(resolved.data(), resolved.size());
  FUZZ_CHECK(cli::to_ini(cli::parse_args({"--config", ini_file.path()}).config) == resolved);
  return 0;
}
