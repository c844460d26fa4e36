// train::load_model, the one loader of `evaluate`, `predict` and bench_lsh_recall: the network
// it rebuilds is the one that was saved, the command line overrides the stored config, and
// a missing --model or a shape key changed on the command line is a clear error.
#include "sparsetrain/train/model_loading.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../common/temp_dir.h"
#include "sparsetrain/checkpoint/model_file.h"
#include "sparsetrain/train/setup.h"

namespace sparsetrain::train {
namespace {

using testing::TempDir;

struct SavedModel {
  TempDir dir{"st_model_loading_test_"};
  cli::Config config;
  std::string path;
  std::vector<optim::FloatArray> weights;  // per block, as saved
  std::string model_option;                // target of the --model extra option
  std::vector<cli::ExtraOption> extras;

  SavedModel() : path(dir.file("model.h5")) {
    config = cli::parse_args({"--data.input_dim", "4096", "--model.embed_dim", "16", "--model.hidden", "64,32",
                              "--train.seed", "5", "--train.threads", "1"})
                 .config;
    model::Network net(network_spec(config));
    float x = 0.5F;  // weights no fresh network of this seed has
    for (auto& b : net.blocks())
      for (float& w : b.w) w = (x = -x * 0.999F);
    for (const auto& b : net.blocks()) weights.push_back(b.w);
    checkpoint::save_model(path, net, cli::to_ini(config));
    extras = {{"model", "model.h5", "", true, &model_option}};
  }
};

TEST(ModelLoading, RebuildsTheSavedNetworkWithCommandLineOverrides) {
  SavedModel saved;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--model", saved.path, "--train.batch_size", "77"},
        std::vector<std::string>{"--model=" + saved.path, "--train.batch_size=77"}}) {
    const LoadedModel loaded = load_model(args, saved.extras, collective::Comm::world());
    EXPECT_EQ(saved.model_option, saved.path);
    EXPECT_EQ(loaded.config.train.batch_size, 77);                 // the override
    EXPECT_EQ(loaded.config.model.hidden, "64,32");                // the stored config
    EXPECT_EQ(loaded.config.train.seed, saved.config.train.seed);  // (not the default)
    ASSERT_EQ(loaded.network->blocks().size(), saved.weights.size());
    for (size_t i = 0; i < saved.weights.size(); ++i)
      EXPECT_EQ(loaded.network->blocks()[i].w, saved.weights[i]) << loaded.network->blocks()[i].name;
  }
}

TEST(ModelLoading, MissingModelOptionIsAConfigError) {
  SavedModel saved;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{}, std::vector<std::string>{"--model"}, std::vector<std::string>{"--model="}}) {
    try {
      load_model(args, saved.extras, collective::Comm::world());
      ADD_FAILURE() << "no error without a model path";
    } catch (const cli::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("missing required option --model"), std::string::npos) << e.what();
    }
  }
}

TEST(ModelLoading, ShapeOverrideThatDoesNotMatchTheFileIsRefused) {
  SavedModel saved;
  try {
    load_model({"--model", saved.path, "--model.embed_dim", "32"}, saved.extras, collective::Comm::world());
    ADD_FAILURE() << "a network of another shape was loaded from the file";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(saved.path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sparsetrain::train
