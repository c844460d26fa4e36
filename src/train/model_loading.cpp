#include "sparsetrain/train/model_loading.h"

#include "sparsetrain/checkpoint/model_file.h"
#include "sparsetrain/train/setup.h"

namespace sparsetrain::train {
namespace {

// The value of --model PATH / --model=PATH in args: the file whose config is the base that
// the rest of args overrides, so it is needed before they are parsed.
std::string model_path_arg(const std::vector<std::string>& args) {
  const std::string flag = "--model";
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag && i + 1 < args.size() && !args[i + 1].empty()) return args[i + 1];
    if (args[i].rfind(flag + "=", 0) == 0 && args[i].size() > flag.size() + 1) return args[i].substr(flag.size() + 1);
  }
  throw cli::ConfigError("missing required option --model (model.h5 written by 'sparsetrain train')");
}

}  // namespace

LoadedModel load_model(const std::vector<std::string>& args, const std::vector<cli::ExtraOption>& extras,
                       collective::Comm& comm) {
  const std::string path = model_path_arg(args);
  LoadedModel loaded;
  loaded.config = cli::parse_args(args, extras, checkpoint::read_model_config(path)).config;
  loaded.runtime = configure_runtime(loaded.config, &comm);
  check_memory(loaded.config, comm);
  loaded.network = std::make_unique<model::Network>(network_spec(loaded.config, comm.rank(), comm.size()));
  checkpoint::load_model_weights(path, *loaded.network, &comm);
  return loaded;
}

}  // namespace sparsetrain::train
