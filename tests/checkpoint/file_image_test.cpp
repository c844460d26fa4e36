// Model files and checkpoints opened from memory (H5File::open_image, the seam the
// fuzzer in tests/fuzz/model_file_fuzz.cpp uses) load exactly as from their path.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "../common/temp_dir.h"
#include "sparsetrain/checkpoint/checkpoint.h"
#include "sparsetrain/checkpoint/h5.h"
#include "sparsetrain/checkpoint/model_file.h"

namespace fs = std::filesystem;
using namespace sparsetrain;
using namespace sparsetrain::checkpoint;

namespace {

using sparsetrain::testing::TempDir;

model::NetworkSpec spec() {
  model::NetworkSpec s;
  s.input_dim = 512;
  s.embed_dim = 4;
  s.hidden = {16, 8};
  s.sparsity = {0.5, 1.0};
  s.lsh.bits_per_table = 2;
  s.lsh.num_tables = 2;
  s.lsh.bucket_capacity = 4;
  s.seed = 5;
  return s;
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <typename F> std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(FileImage, ModelLoadsAsFromItsPath) {
  TempDir dir("st_image_test_");
  model::Network net(spec());
  net.blocks()[0].w[3] = 1.25f;
  TableSnapshot tables;
  tables.capture(net);
  save_model(dir.file("model.h5"), net, "[train]\nseed = 5\n", &tables);
  const std::string image = bytes_of(dir.file("model.h5"));

  const H5File f = H5File::open_image(image.data(), image.size(), "image.h5");
  EXPECT_EQ(f.path(), "image.h5");
  EXPECT_EQ(read_model_config(f), "[train]\nseed = 5\n");
  model::Network from_image(spec()), from_path(spec());
  load_model_weights(f, from_image);
  load_model_weights(dir.file("model.h5"), from_path);
  for (size_t i = 0; i < net.blocks().size(); ++i) {
    EXPECT_EQ(from_image.blocks()[i].w, net.blocks()[i].w);
    EXPECT_EQ(from_image.blocks()[i].w, from_path.blocks()[i].w);
  }
}

TEST(FileImage, CheckpointLoadsAsFromItsPath) {
  TempDir dir("st_image_test_");
  model::Network net(spec());
  TableSnapshot tables;
  tables.capture(net);
  TrainState state;
  state.step = 7;
  state.config_ini = "[train]\nseed = 5\n";
  state.window_loss_sum = {0.5};
  state.window_samples = {3};
  save_checkpoint(dir.file("c.h5"), net, tables, state);
  const std::string image = bytes_of(dir.file("c.h5"));

  const H5File f = H5File::open_image(image.data(), image.size(), "c-image.h5");
  EXPECT_EQ(read_checkpoint_state(f), state);
  model::Network back(spec());
  TableSnapshot back_tables;
  EXPECT_EQ(load_checkpoint(f, back, back_tables), state);
  EXPECT_EQ(back_tables.blocks(), tables.blocks());
}

TEST(FileImage, BadImagesAreErrorsNamingTheImage) {
  EXPECT_NE(error_of([] { H5File::open_image("", 0, "empty.h5"); }).find("empty.h5"), std::string::npos);
  const std::string junk(4096, 'x');
  EXPECT_NE(error_of([&] { H5File::open_image(junk.data(), junk.size(), "junk.h5"); }).find("junk.h5"),
            std::string::npos);
  // A model file is not a checkpoint, with the same message as from a path.
  TempDir dir("st_image_test_");
  model::Network net(spec());
  save_model(dir.file("model.h5"), net, "");
  const std::string image = bytes_of(dir.file("model.h5"));
  const H5File f = H5File::open_image(image.data(), image.size(), "m.h5");
  EXPECT_NE(error_of([&] { read_checkpoint_state(f); }).find("'m.h5' is not a sparsetrain checkpoint"),
            std::string::npos);
}

// Arrays of other ranks than 1 or 2 are errors naming the dataset: read_u64 and read_f64
// size their buffer from the dataset's dimensions, and the reader behind them held two, so
// HDF5 wrote a third dimension past the end of a stack array (found writing the
// model-file fuzzer, whose mutations reshape datasets).
TEST(H5File, ThreeDimensionalArrayIsAnError) {
  TempDir dir("st_image_test_");
  {
    H5File f = H5File::create(dir.file("a.h5"));
    hsize_t dims[3] = {2, 2, 2};
    const hid_t space = H5Screate_simple(3, dims, nullptr);
    const hid_t d = H5Dcreate2(f.id(), "/cube", H5T_NATIVE_UINT64, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const uint64_t values[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    H5Dwrite(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
    H5Dclose(d);
    H5Sclose(space);
  }
  const H5File f = H5File::open_read(dir.file("a.h5"));
  EXPECT_EQ(f.dims("/cube"), (std::vector<uint64_t>{2, 2, 2}));
  for (const std::string& e : {error_of([&] { f.read_u64("/cube"); }), error_of([&] { f.read_f64("/cube"); })}) {
    EXPECT_NE(e.find("/cube"), std::string::npos) << e;
    EXPECT_NE(e.find("3 dimensions"), std::string::npos) << e;
  }
}

// A checkpoint whose small arrays declare more elements than the file holds is a
// CheckpointError (so a resume moves it aside and tries the previous checkpoint), not an
// attempt to allocate them: the model-file fuzzer made /data/input_sizes declare 2^33
// elements, and the reader asked for 64 GiB (std::bad_alloc, which a resume does not catch
// as a damaged checkpoint).
TEST(FileImage, HugeDeclaredArrayIsADamagedCheckpoint) {
  TempDir dir("st_image_test_");
  model::Network net(spec());
  TableSnapshot tables;
  tables.capture(net);
  TrainState state;
  state.config_ini = "[train]\nseed = 5\n";
  state.inputs = {"a.tsv"};
  state.input_sizes = {10};
  state.window_loss_sum = {0.5};
  state.window_samples = {3};
  for (const char* name : {"/data/input_sizes", "/train/window_loss_sum"}) {
    save_checkpoint(dir.file("c.h5"), net, tables, state);
    {  // the dataset replaced by one of 2^36 elements that were never written
      const hid_t f = H5Fopen(dir.file("c.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
      ASSERT_GE(f, 0);
      H5Ldelete(f, name, H5P_DEFAULT);
      hsize_t dims[1] = {hsize_t{1} << 36};
      const hid_t space = H5Screate_simple(1, dims, nullptr);
      const hid_t d = H5Dcreate2(f, name, H5T_NATIVE_UINT64, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      ASSERT_GE(d, 0);
      H5Dclose(d);
      H5Sclose(space);
      H5Fclose(f);
    }
    std::string e;
    try {
      read_checkpoint_state(dir.file("c.h5"));
    } catch (const CheckpointError& err) {
      e = err.what();
    }
    EXPECT_NE(e.find(name), std::string::npos) << e;
    EXPECT_NE(e.find("declares 68719476736 elements"), std::string::npos) << e;
  }
}

// A model file's LSH table source of another shape than the network's is an error naming
// it, found before allocating it: a /lsh/<block>/w declaring 2^40 rows made the loader
// allocate 20 TiB (std::bad_alloc; the shape check came only after the read).
TEST(FileImage, ModelTableSourceOfAnotherShapeIsAnError) {
  TempDir dir("st_image_test_");
  model::Network net(spec());
  TableSnapshot tables;
  tables.capture(net);
  save_model(dir.file("model.h5"), net, "", &tables);
  {
    const hid_t f = H5Fopen(dir.file("model.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    H5Ldelete(f, "/lsh/fc1/w", H5P_DEFAULT);
    hsize_t dims[2] = {hsize_t{1} << 40, 5};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t d = H5Dcreate2(f, "/lsh/fc1/w", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(d, 0);
    H5Dclose(d);
    H5Sclose(space);
    H5Fclose(f);
  }
  model::Network back(spec());
  std::string e;
  try {
    load_model_weights(dir.file("model.h5"), back);
  } catch (const H5Error& err) {
    e = err.what();
  }
  EXPECT_NE(e.find("/lsh/fc1/w has the wrong shape"), std::string::npos) << e;
}
