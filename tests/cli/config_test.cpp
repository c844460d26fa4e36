// Config parsing: defaults, INI + command-line precedence, and every kind of bad
// key or value stopping with a message that names the key, the value and what is allowed.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "../common/temp_dir.h"
#include "sparsetrain/cli/config.h"

using sparsetrain::cli::Config;
using sparsetrain::cli::ConfigError;
using sparsetrain::cli::OnError;
using sparsetrain::cli::parse_args;
using sparsetrain::cli::Resume;

namespace {

// One directory per test process (CTest runs each case as its own process, two at a
// time), removed with its files when the process exits.
std::string write_ini(const std::string& text) {
  static const sparsetrain::testing::TempDir dir{"st_config_test_"};
  static int files = 0;
  std::string path = dir.file("cfg" + std::to_string(files++) + ".ini");
  std::ofstream(path) << text;
  return path;
}

// The message of the ConfigError that parse_args throws for `args`.
std::string error_of(const std::vector<std::string>& args) {
  try {
    parse_args(args);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError thrown";
  return "";
}

}  // namespace

TEST(Config, DefaultsComeFromTheKeyTable) {
  const Config c = parse_args({}).config;
  EXPECT_EQ(c.train.batch_size, 1024);
  EXPECT_EQ(c.data.on_error, OnError::Skip);
  EXPECT_EQ(c.data.input_dim, 1048576);
  EXPECT_DOUBLE_EQ(c.optim.lr, 0.001);
  EXPECT_TRUE(c.data.dense_features);
  EXPECT_EQ(c.checkpoint.resume, Resume::Auto);
}

TEST(Config, IniFileAndCommandLineOverride) {
  const std::string ini =
      write_ini("[train]\nbatch_size = 2048\nseed = 7\n[model]\nhidden = 512,128\nsparsity = 0.1,1\n");
  const Config c = parse_args({"--config", ini, "--train.batch_size", "4096"}).config;
  EXPECT_EQ(c.train.batch_size, 4096);  // command line wins
  EXPECT_EQ(c.train.seed, 7);           // from the file
  EXPECT_EQ(sparsetrain::cli::hidden_sizes(c), (std::vector<int>{512, 128}));
  EXPECT_EQ(sparsetrain::cli::layer_sparsity(c), (std::vector<double>{0.1, 1.0}));
  const Config d = parse_args({"--config=" + ini, "--train.batch_size=8"}).config;
  EXPECT_EQ(d.train.batch_size, 8);
}

TEST(Config, OneSparsityValueAppliesToEveryLayer) {
  const Config c = parse_args({"--model.hidden", "64,32,16", "--model.sparsity", "0.25"}).config;
  EXPECT_EQ(sparsetrain::cli::layer_sparsity(c), (std::vector<double>{0.25, 0.25, 0.25}));
}

TEST(Config, ResolvedIniReadsBackToTheSameConfig) {
  const Config c = parse_args({"--optim.lr", "0.0123", "--model.hidden", "100,10", "--data.train", "a.tsv,b/*.gz",
                               "--data.dense_features", "false", "--optim.beta1", "0.9"})
                       .config;
  const std::string ini = write_ini(sparsetrain::cli::to_ini(c));
  const Config d = parse_args({"--config", ini}).config;
  EXPECT_EQ(sparsetrain::cli::to_ini(c), sparsetrain::cli::to_ini(d));
  EXPECT_DOUBLE_EQ(d.optim.lr, 0.0123);
  EXPECT_FALSE(d.data.dense_features);
  EXPECT_EQ(d.data.train, "a.tsv,b/*.gz");
  EXPECT_NE(sparsetrain::cli::to_ini(c).find("beta1 = 0.9\n"), std::string::npos);
}

// Text an INI file cannot hold is refused on the command line instead of being written to
// config.ini (and model.h5) as something that reads back differently: the config fuzzer
// (tests/fuzz/config_fuzz.cpp) found `--data.train "a.tsv "` reading back as "a.tsv", and
// "data#2.tsv" would read back as "data".
TEST(Config, TextThatAnIniFileCannotHoldIsRefused) {
  for (const char* bad : {"a.tsv ", " a.tsv", "a.tsv\t", "data#2.tsv", "a.tsv\nb.tsv", "a\r"}) {
    const std::string msg = error_of({"--data.train", bad});
    EXPECT_NE(msg.find("data.train"), std::string::npos) << msg;
    EXPECT_NE(msg.find("INI file"), std::string::npos) << msg;
  }
  EXPECT_NE(error_of({"--train.run_dir", "runs/x "}).find("train.run_dir"), std::string::npos);
  EXPECT_NE(error_of({"--model.hidden", "64,32 "}).find("model.hidden"), std::string::npos);
  // Inner blanks are fine, and read back.
  const Config c = parse_args({"--data.train", "a b.tsv , c.tsv", "--model.hidden", "64, 32"}).config;
  const Config d = parse_args({}, {}, sparsetrain::cli::to_ini(c)).config;
  EXPECT_EQ(d.data.train, "a b.tsv , c.tsv");
  EXPECT_EQ(sparsetrain::cli::to_ini(c), sparsetrain::cli::to_ini(d));
}

// Boost.Program_options 1.74 formats its errors by replacing placeholders such as %value%
// until none is left, so a bad value holding one looped forever (the config fuzzer found
// `--train.batch_size %value%` hanging). Each case runs in a child with a 20 s alarm.
TEST(Config, ErrorsAboutTextHoldingBoostPlaceholdersEnd) {
  const auto ends_naming = [](const std::vector<std::string>& args, const std::string& want) {
    ::alarm(20);
    std::_Exit(error_of(args).find(want) != std::string::npos ? 0 : 1);
  };
  EXPECT_EXIT(ends_naming({"--train.batch_size", "%value%"}, "('%value%') for option '--train.batch_size' is invalid"),
              ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(ends_naming({"--%canonical_option%", "1"}, "unrecognised option '--%canonical_option%'"),
              ::testing::ExitedWithCode(0), "");
  const std::string ini = write_ini("[train]\n%invalid_line%\n");
  EXPECT_EXIT(ends_naming({"--config", ini}, "invalid line '%invalid_line%'"), ::testing::ExitedWithCode(0), "");
  // The usual messages are unchanged.
  EXPECT_NE(error_of({"--train.batch_size", "many"})
                .find("the argument ('many') for option '--train.batch_size' is invalid; allowed: an integer"),
            std::string::npos);
}

TEST(Config, UnknownKeyOnCommandLine) {
  const std::string msg = error_of({"--train.bogus", "1"});
  EXPECT_NE(msg.find("train.bogus"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--help"), std::string::npos) << msg;
}

TEST(Config, UnknownKeyInIniNamesTheFile) {
  const std::string ini = write_ini("[train]\nbatch_sise = 10\n");
  const std::string msg = error_of({"--config", ini});
  EXPECT_NE(msg.find(ini), std::string::npos) << msg;
  EXPECT_NE(msg.find("batch_sise"), std::string::npos) << msg;
}

TEST(Config, UnknownSectionInIni) {
  const std::string msg = error_of({"--config", write_ini("[trian]\nbatch_size = 10\n")});
  EXPECT_NE(msg.find("trian.batch_size"), std::string::npos) << msg;
}

TEST(Config, WrongTypeNamesKeyValueAndAllowed) {
  const std::string msg = error_of({"--train.batch_size", "many"});
  EXPECT_NE(msg.find("many"), std::string::npos) << msg;
  EXPECT_NE(msg.find("train.batch_size"), std::string::npos) << msg;
  EXPECT_NE(msg.find("an integer in [1, 4194304]"), std::string::npos) << msg;
  const std::string msg2 = error_of({"--config", write_ini("[optim]\nlr = fast\n")});
  EXPECT_NE(msg2.find("fast"), std::string::npos) << msg2;
  EXPECT_NE(msg2.find("optim.lr"), std::string::npos) << msg2;
}

TEST(Config, OutOfRangeNamesKeyValueAndAllowed) {
  const std::string msg = error_of({"--train.batch_size", "0"});
  EXPECT_NE(msg.find("'0'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("train.batch_size"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[1, 4194304]"), std::string::npos) << msg;
  EXPECT_NE(error_of({"--optim.lr", "-1"}).find("optim.lr"), std::string::npos);
  EXPECT_NE(error_of({"--data.input_dim", "8"}).find("data.input_dim"), std::string::npos);
}

TEST(Config, ChoiceListsTheAllowedValues) {
  const std::string msg = error_of({"--data.on_error", "ignore"});
  EXPECT_NE(msg.find("ignore"), std::string::npos) << msg;
  EXPECT_NE(msg.find("skip|fail"), std::string::npos) << msg;
  EXPECT_NE(error_of({"--train.kernels", "avx2"}).find("auto|scalar|avx512"), std::string::npos);
  EXPECT_NE(error_of({"--dist.exchange", "ring"}).find("auto|sparse|dense"), std::string::npos);
  EXPECT_NE(error_of({"--train.denormals", "ftz"}).find("flush|keep"), std::string::npos);
}

TEST(Config, ListValuesAreChecked) {
  EXPECT_NE(error_of({"--model.hidden", "128,x"}).find("'x' is not an integer"), std::string::npos);
  EXPECT_NE(error_of({"--model.hidden", "128,0"}).find("out of range"), std::string::npos);
  EXPECT_NE(error_of({"--model.sparsity", "1.5"}).find("(0, 1]"), std::string::npos);
  EXPECT_NE(error_of({"--model.sparsity", "0"}).find("model.sparsity"), std::string::npos);
  const std::string msg = error_of({"--model.hidden", "10,20,30", "--model.sparsity", "0.1,0.2"});
  EXPECT_NE(msg.find("model.sparsity has 2 values but model.hidden has 3 layers"), std::string::npos) << msg;
}

TEST(Config, EmbedSparsityNeedsBlocksOf16) {
  EXPECT_NE(error_of({"--model.embed_sparsity", "0"}).find("model.embed_sparsity"), std::string::npos);
  EXPECT_NE(error_of({"--model.embed_sparsity", "1.5"}).find("model.embed_sparsity"), std::string::npos);
  const std::string msg = error_of({"--model.embed_sparsity", "0.5", "--model.embed_dim", "40"});
  EXPECT_NE(msg.find("model.embed_dim = 40 is not a multiple of 16"), std::string::npos) << msg;
  EXPECT_EQ(parse_args({"--model.embed_sparsity", "0.05", "--model.embed_dim", "10240"}).config.model.embed_sparsity,
            0.05);
  // Blocks of 16 are addressed by 32-bit ids: at most 2^32 of them (2^28 rows x 16 blocks is the edge).
  const std::vector<std::string> edge = {"--model.embed_sparsity", "0.5",      "--model.embed_dim", "256",
                                         "--data.input_dim",       "268435456"};
  EXPECT_EQ(parse_args(edge).config.data.input_dim, 268435456);
  const std::string over =
      error_of({"--model.embed_sparsity", "0.5", "--model.embed_dim", "256", "--data.input_dim", "268435457"});
  EXPECT_NE(over.find("data.input_dim x model.embed_dim / 16 must be at most 2^32"), std::string::npos) << over;
}

TEST(Config, BoolValues) {
  EXPECT_FALSE(parse_args({"--data.dense_features", "off"}).config.data.dense_features);
  EXPECT_TRUE(parse_args({"--data.dense_features", "yes"}).config.data.dense_features);
  EXPECT_NE(error_of({"--data.dense_features", "maybe"}).find("true or false"), std::string::npos);
}

TEST(Config, MissingConfigFile) {
  const std::string msg = error_of({"--config", "/no/such/dir/x.ini"});
  EXPECT_NE(msg.find("/no/such/dir/x.ini"), std::string::npos) << msg;
}

// Issue 16, D9: a directory used to read as an empty config, and training ran on defaults.
TEST(Config, DirectoryAsConfigFileIsRefused) {
  const std::string dir = ::testing::TempDir();
  const std::string msg = error_of({"--config", dir});
  EXPECT_NE(msg.find("is a directory"), std::string::npos) << msg;
  EXPECT_NE(msg.find(dir), std::string::npos) << msg;
}

TEST(Config, RequiredExtraOption) {
  std::string model;
  try {
    parse_args({}, {{"model", "model file", "", true, &model}});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--model"), std::string::npos);
  }
  parse_args({"--model", "m.h5"}, {{"model", "model file", "", true, &model}});
  EXPECT_EQ(model, "m.h5");
}

TEST(Config, HelpListsEveryKeyWithDefault) {
  std::ostringstream os;
  sparsetrain::cli::print_help(os, "train");
  const std::string help = os.str();
  for (const char* key : {"data.train", "data.on_error", "model.sparsity", "lsh.family", "optim.lr", "train.batch_size",
                          "dist.exchange", "checkpoint.every_steps"}) {
    EXPECT_NE(help.find(key), std::string::npos) << key;
  }
  EXPECT_NE(help.find("(=1024)"), std::string::npos);  // defaults are shown
  EXPECT_NE(help.find("skip|fail"), std::string::npos);
}

TEST(Config, BaseIniSitsBelowTheCommandLine) {
  const Config c = parse_args({"--train.threads", "3"}, {}, "[train]\nthreads = 1\nseed = 99\n").config;
  EXPECT_EQ(c.train.threads, 3);
  EXPECT_EQ(c.train.seed, 99);
}

// Keys with a fixed set of values are enums: every name parses to its value, prints back
// as the same name (--help, to_ini), and nothing else parses.
TEST(Config, EnumKeysRoundTripThroughTheirNames) {
  for (const char* name : {"auto", "sparse", "dense"}) {
    const Config c = parse_args({"--dist.exchange", name}).config;
    EXPECT_STREQ(sparsetrain::cli::name_of(c.dist.exchange), name);
    EXPECT_NE(sparsetrain::cli::to_ini(c).find(std::string("exchange = ") + name), std::string::npos);
  }
  const Config c =
      parse_args({"--optim.moments", "bfloat16", "--lsh.family", "dwta", "--data.int_encoding", "identity"}).config;
  EXPECT_EQ(c.optim.moments, sparsetrain::cli::Moments::Bfloat16);
  EXPECT_EQ(c.lsh.family, sparsetrain::cli::LshFamily::Dwta);
  EXPECT_EQ(c.data.int_encoding, sparsetrain::cli::IntEncoding::Identity);
  EXPECT_EQ(parse_args({}, {}, sparsetrain::cli::to_ini(c)).config.optim.moments, sparsetrain::cli::Moments::Bfloat16);
  for (const char* bad : {"Sharded", "sharded ", "", "mirrored"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(parse_args({"--dist.embedding", bad}), ConfigError);
  }
}

TEST(Config, IniKeyValuesReadsAnyKeyAsParseArgsDoes) {
  using sparsetrain::cli::ini_key_values;
  const auto kv = ini_key_values(
      "# a comment\n[train]\n  seed =  7 \nthreads=2\n\n[retired]\nold_key = x # note\n"
      "[train]\nseed = 8\n");
  EXPECT_EQ(kv.size(), 3u);
  EXPECT_EQ(kv.at("train.seed"), "8");  // a repeated key: the last value
  EXPECT_EQ(kv.at("train.threads"), "2");
  EXPECT_EQ(kv.at("retired.old_key"), "x");  // keys this build does not know are kept
  // The resolved config reads back to every key with its value.
  const Config c = parse_args({"--train.seed", "5", "--data.train", "a.tsv"}).config;
  const auto all = ini_key_values(sparsetrain::cli::to_ini(c));
  EXPECT_EQ(all.at("train.seed"), "5");
  EXPECT_EQ(all.at("data.train"), "a.tsv");
  EXPECT_EQ(all.at("data.test"), "");
  EXPECT_THROW(ini_key_values("[train]\nnot a key value line\n"), ConfigError);
}
