// Checkpoint files: exact round trip, layout, damage detection (checksums, truncation,
// missing complete marker), shape checks, rotation that never loses the last good
// checkpoint, and the LSH table source that makes a resume rebuild the same tables.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "../common/temp_dir.h"
#include "sparsetrain/checkpoint/checkpoint.h"
#include "sparsetrain/checkpoint/checkpoint_dir.h"
#include "sparsetrain/checkpoint/h5.h"
#include "sparsetrain/checkpoint/model_file.h"
#include "sparsetrain/checkpoint/parallel_file.h"
#include "sparsetrain/kernels/bf16.h"
#include "sparsetrain/util/checksum.h"

namespace fs = std::filesystem;
using namespace sparsetrain;
using namespace sparsetrain::checkpoint;

namespace {

using sparsetrain::testing::TempDir;

model::NetworkSpec small_spec(int embed = 8, bool bf16_moments = false) {
  model::NetworkSpec s;
  s.bf16_moments = bf16_moments;
  s.input_dim = 4096;
  s.embed_dim = embed;
  s.hidden = {64, 32};
  s.sparsity = {0.25, 1.0};  // fc1 has LSH tables, fc2 is dense
  s.lsh.bits_per_table = 4;
  s.lsh.num_tables = 4;
  s.lsh.bucket_capacity = 16;
  s.rebuild_every = 5;
  s.seed = 11;
  return s;
}

// Fills every array of the network with distinct values so a mixed-up block shows.
void scramble(model::Network& net, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& b : net.blocks()) {
    for (auto& x : b.w) x = u(rng);
    for (auto& x : b.m) x = u(rng);
    for (auto& x : b.v) x = std::abs(u(rng));
    for (auto& x : b.m16) x = kernels::bf16_from_float(u(rng));
    for (auto& x : b.v16) x = kernels::bf16_from_float(std::abs(u(rng)));
    for (auto& x : b.last_step) x = rng() % 1000;
  }
}

TrainState sample_state() {
  TrainState s;
  s.step = 1234;
  s.samples = 98765;
  s.epoch = 2;
  s.nranks = 3;
  s.next_rebuild = 1300;
  s.rebuild_interval = 61.5;
  s.elapsed_seconds = 42.25;
  s.metrics_bytes = 777;
  s.config_ini = "[train]\nseed = 11\n";
  s.inputs = {"a.tsv", "b.tsv.gz"};
  s.input_sizes = {1000, 2000};
  s.remainders = {{0, 0, 0, 333, 1, 0, 120, 3}, {1, 0, 333, 666, 1, 0, 400, 2}, {2, 1, 0, 2000, 3, 2, 50, 7}};
  s.window_loss_sum = {1.5, 2.25, 0.125};
  s.window_samples = {10, 11, 12};
  return s;
}

bool same_arrays(const model::Network& a, const model::Network& b) {
  for (size_t i = 0; i < a.blocks().size(); ++i) {
    const auto &x = a.blocks()[i], &y = b.blocks()[i];
    if (x.w != y.w || x.m != y.m || x.v != y.v || x.m16 != y.m16 || x.v16 != y.v16 || x.last_step != y.last_step)
      return false;
  }
  return true;
}

data::Batch random_batch(size_t rows, uint64_t input_dim, uint32_t seed) {
  data::Batch batch;
  batch.resize(rows, true);
  std::mt19937 rng(seed);
  for (auto& id : batch.ids) id = static_cast<uint32_t>(rng() % input_dim);
  for (auto& d : batch.dense) d = static_cast<float>(rng() % 100) / 50.0f;
  for (auto& l : batch.labels) l = static_cast<float>(rng() % 2);
  return batch;
}

std::vector<float> predictions(model::Network& net, const data::Batch& batch) {
  std::vector<float> p(batch.rows);
  net.predict(batch, 0, p.data());
  return p;
}

void save_sample(const std::string& path, uint32_t seed = 1) {
  model::Network net(small_spec());
  scramble(net, seed);
  TableSnapshot t;
  t.capture(net);
  save_checkpoint(path, net, t, sample_state());
}

// Overwrites an int64 attribute of the file's root in place, as a damaged or foreign writer
// would have left it; false if the file or attribute cannot be opened or written.
bool set_root_int_attr(const std::string& path, const char* name, int64_t value) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0) return false;
  const hid_t a = H5Aopen(f, name, H5P_DEFAULT);
  const bool ok = a >= 0 && H5Awrite(a, H5T_NATIVE_INT64, &value) >= 0;
  if (a >= 0) H5Aclose(a);
  H5Fclose(f);
  return ok;
}

// Turns a file written now into what format 1 and 2 writers left: the same layout with the
// /params arrays' checksums taken over the whole array (checksum64), then `version`.
void make_whole_array_checksums(const std::string& path, int64_t version) {
  H5File f = H5File::open_read(path);
  std::vector<std::pair<std::string, std::string>> sums;
  const model::Network net(small_spec());
  for (const auto& block : net.blocks()) {
    for (const auto& a : {"w", "m", "v", "last_step"}) {
      const std::string name = "/params/" + block.name + "/" + a;
      uint64_t n = 1;
      for (uint64_t d : f.dims(name)) n *= d;
      std::vector<uint32_t> words(n);  // every array here has 32-bit elements
      if (std::string(a) == "last_step")
        f.read_u32(name, words.data(), n);
      else
        f.read_floats(name, reinterpret_cast<float*>(words.data()), n);
      sums.emplace_back(name, util::checksum_hex(util::checksum64(words.data(), n * 4)));
    }
  }
  f.close();
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(id, 0);
  for (const auto& [name, sum] : sums) {
    const hid_t obj = H5Oopen(id, name.c_str(), H5P_DEFAULT);
    const hid_t a = H5Aopen(obj, "checksum", H5P_DEFAULT);
    const hid_t type = H5Aget_type(a);
    ASSERT_GE(H5Awrite(a, type, sum.data()), 0);
    H5Tclose(type);
    H5Aclose(a);
    H5Oclose(obj);
  }
  H5Fclose(id);
  ASSERT_TRUE(set_root_int_attr(path, "format_version", version));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const CheckpointError& e) {
    return e.what();
  } catch (const H5Error& e) {  // model files
    return e.what();
  }
  return "";
}

// Loads the checkpoint at `path` into a fresh network of `spec`: the error, or "" if it loaded.
std::string load_error(const std::string& path, const model::NetworkSpec& spec) {
  model::Network net(spec);
  TableSnapshot t;
  return error_of([&] { load_checkpoint(path, net, t); });
}

}  // namespace

TEST(Checkpoint, RoundTripIsExact) {
  TempDir dir("st_ckpt_test_");
  model::Network net(small_spec());
  scramble(net, 1);
  TableSnapshot tables;
  tables.capture(net);
  const TrainState state = sample_state();
  save_checkpoint(dir.file("c.h5"), net, tables, state);

  model::Network back(small_spec());
  TableSnapshot back_tables;
  const TrainState got = load_checkpoint(dir.file("c.h5"), back, back_tables);
  EXPECT_EQ(got, state);
  EXPECT_TRUE(same_arrays(net, back));
  EXPECT_EQ(back_tables.blocks(), tables.blocks());
  ASSERT_EQ(back_tables.blocks().size(), 1u);  // only fc1 is indexed
  EXPECT_EQ(back_tables.blocks()[0].name, "fc1");
  EXPECT_EQ(back.next_rebuild(), 1300u);
  EXPECT_EQ(back.rebuild_interval(), 61.5);
  EXPECT_EQ(read_checkpoint_state(dir.file("c.h5")), state);
  EXPECT_EQ(decode_state(encode_state(state)), state);
  // No temporary file is left next to it.
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++files;
  EXPECT_EQ(files, 1u);
}

// bfloat16 moments are stored as such (uint16, encoding = bfloat16) and come back exactly;
// a run that resumes with the other optim.moments gets them converted: bfloat16 ->
// float32 exactly, float32 -> bfloat16 to nearest.
TEST(Checkpoint, Bf16MomentsRoundTripAndConvert) {
  TempDir dir("st_ckpt_test_");
  model::Network net(small_spec(8, true));
  scramble(net, 3);
  const auto& embed = net.blocks()[0];
  ASSERT_EQ(embed.name, "embed");
  ASSERT_TRUE(embed.bf16_moments && embed.m.empty() && !embed.m16.empty());
  EXPECT_FALSE(net.blocks()[1].bf16_moments);  // only the sparse-input table
  TableSnapshot tables;
  tables.capture(net);
  save_checkpoint(dir.file("b.h5"), net, tables, sample_state());
  {
    const H5File f = H5File::open_read(dir.file("b.h5"));
    EXPECT_TRUE(f.is_u16("/params/embed/m"));
    EXPECT_EQ(f.attr_string("encoding", "/params/embed/v"), "bfloat16");
    EXPECT_FALSE(f.is_u16("/params/fc1/m"));
  }
  model::Network same(small_spec(8, true));
  TableSnapshot t1;
  load_checkpoint(dir.file("b.h5"), same, t1);
  EXPECT_TRUE(same_arrays(net, same));

  model::Network widened(small_spec(8, false));
  TableSnapshot t2;
  load_checkpoint(dir.file("b.h5"), widened, t2);
  const auto& w = widened.blocks()[0];
  ASSERT_EQ(w.m.size(), embed.m16.size());
  EXPECT_TRUE(w.m16.empty());
  for (size_t i = 0; i < w.m.size(); ++i) {
    ASSERT_EQ(w.m[i], kernels::bf16_to_float(embed.m16[i])) << i;
    ASSERT_EQ(w.v[i], kernels::bf16_to_float(embed.v16[i])) << i;
  }
  EXPECT_EQ(w.w, embed.w);

  // float32 file -> bfloat16 run.
  save_checkpoint(dir.file("f.h5"), widened, t2, sample_state());
  model::Network narrowed(small_spec(8, true));
  TableSnapshot t3;
  load_checkpoint(dir.file("f.h5"), narrowed, t3);
  EXPECT_TRUE(same_arrays(net, narrowed));  // the widened values narrow back exactly
}

// A damaged bfloat16 moment is caught by its checksum like any other dataset.
TEST(Checkpoint, DamagedBf16MomentIsDetected) {
  TempDir dir("st_ckpt_test_");
  model::Network net(small_spec(8, true));
  scramble(net, 4);
  TableSnapshot t;
  t.capture(net);
  const std::string path = dir.file("b.h5");
  save_checkpoint(path, net, t, sample_state());
  // Flip one bit of one stored moment through the raw HDF5 API (the checksum attribute stays).
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  hid_t dset = H5Dopen2(file, "/params/embed/v", H5P_DEFAULT);
  ASSERT_GE(dset, 0);
  std::vector<uint16_t> all(4096 * 8);
  ASSERT_GE(H5Dread(dset, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, all.data()), 0);
  all[100] ^= 1;
  ASSERT_GE(H5Dwrite(dset, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, all.data()), 0);
  H5Dclose(dset);
  H5Fclose(file);
  const std::string e = load_error(path, small_spec(8, true));
  EXPECT_NE(e.find("/params/embed/v is damaged"), std::string::npos) << e;
}

// Checkpoints of the previous formats (1: float32 moments only; 2: whole-array checksums)
// still resume, e.g. a job requeued across an upgrade, and their checksums are still
// checked; a newer version is refused with both numbers named.
TEST(Checkpoint, ReadsFormatVersionsOneAndTwoAndRefusesNewer) {
  TempDir dir("st_ckpt_test_");
  const std::string path = dir.file("c.h5");
  for (int64_t old : {1, 2}) {
    save_sample(path);
    make_whole_array_checksums(path, old);
    EXPECT_EQ(load_error(path, small_spec()), "") << "version " << old;
  }
  save_sample(path);
  ASSERT_TRUE(set_root_int_attr(path, "format_version", 2));  // row checksums, read as whole-array ones
  EXPECT_NE(load_error(path, small_spec()).find("/params/embed/w is damaged"), std::string::npos);
  ASSERT_TRUE(set_root_int_attr(path, "format_version", kCheckpointFormatVersion + 1));
  const std::string e = load_error(path, small_spec());
  EXPECT_NE(e.find("format version " + std::to_string(kCheckpointFormatVersion + 1) + ", this build reads 1 to " +
                   std::to_string(kCheckpointFormatVersion)),
            std::string::npos)
      << e;
}

TEST(Checkpoint, LayoutIsSelfDescribing) {
  TempDir dir("st_ckpt_test_");
  save_sample(dir.file("c.h5"));
  const H5File f = H5File::open_read(dir.file("c.h5"));
  EXPECT_EQ(f.attr_string("format"), "sparsetrain-checkpoint");
  EXPECT_EQ(f.attr_int("format_version"), kCheckpointFormatVersion);
  EXPECT_EQ(f.attr_int("complete"), 1);
  EXPECT_EQ(f.attr_int("step"), 1234);
  for (const char* name : {"/params/embed/w", "/params/embed/m", "/params/embed/v", "/params/embed/last_step",
                           "/params/fc1/w", "/params/fc2/v", "/params/out/w", "/lsh/fc1/w", "/data/input_sizes",
                           "/data/remainders", "/train/window_loss_sum", "/train/window_samples"}) {
    EXPECT_TRUE(f.exists(name)) << name;
    EXPECT_EQ(f.attr_string("checksum", name).size(), 16u) << name;
  }
  EXPECT_FALSE(f.exists("/lsh/fc2"));  // dense layers have no tables
  EXPECT_EQ(f.dims("/data/remainders"), (std::vector<uint64_t>{3, 8}));
  EXPECT_EQ(f.dims("/params/embed/w"), (std::vector<uint64_t>{4096, 8}));
}

TEST(Checkpoint, DamagedDatasetIsDetected) {
  TempDir dir("st_ckpt_test_");
  const std::string path = dir.file("c.h5");
  save_sample(path);
  // Flip one byte in the middle of /params/embed/v.
  haddr_t offset;
  {
    const H5File f = H5File::open_read(path);
    const hid_t d = H5Dopen2(f.id(), "/params/embed/v", H5P_DEFAULT);
    offset = H5Dget_offset(d);
    H5Dclose(d);
  }
  ASSERT_NE(offset, HADDR_UNDEF);
  {
    std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(static_cast<std::streamoff>(offset + 4096 * 8 * 2));
    char c;
    io.read(&c, 1);
    c = static_cast<char>(c ^ 0x10);
    io.seekp(static_cast<std::streamoff>(offset + 4096 * 8 * 2));
    io.write(&c, 1);
  }
  const std::string e = load_error(path, small_spec());
  EXPECT_NE(e.find("/params/embed/v is damaged"), std::string::npos) << e;
}

TEST(Checkpoint, TruncatedFileIsRejected) {
  TempDir dir("st_ckpt_test_");
  const std::string path = dir.file("c.h5");
  save_sample(path);
  fs::resize_file(path, fs::file_size(path) / 2);
  EXPECT_NE(load_error(path, small_spec()), "");
  fs::resize_file(path, 100);
  EXPECT_NE(error_of([&] { read_checkpoint_state(path); }).find("truncated or not a checkpoint"), std::string::npos);
  EXPECT_NE(error_of([&] { read_checkpoint_state(dir.file("missing.h5")); }), "");
}

TEST(Checkpoint, FileWithoutCompleteMarkerIsRejected) {
  TempDir dir("st_ckpt_test_");
  const std::string path = dir.file("c.h5");
  save_sample(path);
  // The marker as 0, as a writer that died before the end would have left it.
  ASSERT_TRUE(set_root_int_attr(path, "complete", 0));
  EXPECT_NE(error_of([&] { read_checkpoint_state(path); }).find("incomplete"), std::string::npos);
  // A model file is not a checkpoint either.
  model::Network net(small_spec());
  save_model(dir.file("model.h5"), net, "");
  EXPECT_NE(error_of([&] { read_checkpoint_state(dir.file("model.h5")); }).find("not a sparsetrain checkpoint"),
            std::string::npos);
}

TEST(Checkpoint, OtherModelShapeIsAClearError) {
  TempDir dir("st_ckpt_test_");
  save_sample(dir.file("c.h5"));
  const std::string e = load_error(dir.file("c.h5"), small_spec(16));
  EXPECT_NE(e.find("another model config"), std::string::npos) << e;
}

TEST(Checkpoint, ModelFileStillWorks) {
  TempDir dir("st_ckpt_test_");
  model::Network net(small_spec());
  scramble(net, 3);
  save_model(dir.file("model.h5"), net, "[train]\nseed = 11\n");
  model::Network back(small_spec());
  load_model_weights(dir.file("model.h5"), back);
  for (size_t i = 0; i < net.blocks().size(); ++i) EXPECT_EQ(net.blocks()[i].w, back.blocks()[i].w);
  EXPECT_EQ(read_model_config(dir.file("model.h5")), "[train]\nseed = 11\n");
}

// Overwrites row `row` of a float dataset in place (a flipped disk block, or an edit).
void overwrite_row(const std::string& path, const std::string& name, uint64_t row, const std::vector<float>& values) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const hid_t d = H5Dopen2(f, name.c_str(), H5P_DEFAULT);
  const hid_t fs = H5Dget_space(d);
  hsize_t start[2] = {row, 0}, count[2] = {1, values.size()};
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, nullptr, count, nullptr);
  const hid_t ms = H5Screate_simple(2, count, nullptr);
  EXPECT_GE(H5Dwrite(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, values.data()), 0);
  H5Sclose(ms);
  H5Sclose(fs);
  H5Dclose(d);
  H5Fclose(f);
}

// Replaces a string attribute (on the root or an object) with `value`.
void set_string_attr(const std::string& path, const std::string& object, const char* name, const std::string& value) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const hid_t o = H5Oopen(f, object.c_str(), H5P_DEFAULT);
  H5Adelete(o, name);
  const hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, value.size());
  const hid_t sp = H5Screate(H5S_SCALAR);
  const hid_t a = H5Acreate2(o, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  EXPECT_GE(H5Awrite(a, t, value.data()), 0);
  H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
  H5Oclose(o);
  H5Fclose(f);
}

TEST(ModelFile, DamagedWeightsAreRefused) {
  TempDir dir("st_ckpt_test_");
  model::Network net(small_spec());
  scramble(net, 5);
  const std::string path = dir.file("model.h5");
  save_model(path, net, "[train]\nseed = 11\n");
  overwrite_row(path, "/params/embed/w", 100, std::vector<float>(8, 0.5f));
  model::Network back(small_spec());
  const std::string e = error_of([&] { load_model_weights(path, back); });
  EXPECT_NE(e.find("/params/embed/w is damaged"), std::string::npos) << e;
}

TEST(ModelFile, EditedConfigIsRefused) {
  TempDir dir("st_ckpt_test_");
  model::Network net(small_spec());
  const std::string path = dir.file("model.h5");
  save_model(path, net, "[data]\nhash_seed = 1\n");
  set_string_attr(path, "/", "config", "[data]\nhash_seed = 2\n");
  const std::string e = error_of([&] { read_model_config(path); });
  EXPECT_NE(e.find("config attribute is damaged or was edited"), std::string::npos) << e;
}

TEST(ModelFile, NonFiniteWeightsAreRefusedAtSaveAndLoad) {
  TempDir dir("st_ckpt_test_");
  model::Network net(small_spec());
  scramble(net, 6);
  const std::string path = dir.file("model.h5");
  save_model(path, net, "");
  // A file whose NaN carries a matching checksum (written so, not damaged on disk).
  std::vector<float> row(8, std::numeric_limits<float>::quiet_NaN());
  overwrite_row(path, "/params/embed/w", 7, row);
  model::Network nan_net(small_spec());
  scramble(nan_net, 6);
  std::copy(row.begin(), row.end(), nan_net.blocks()[0].w.begin() + 7 * 8);
  const auto& b = nan_net.blocks()[0];
  set_string_attr(path, "/params/embed/w", "checksum",
                  util::checksum_hex(rows_checksum(b.w.data(), b.shard, sizeof(float) * b.cols, RowIo{})));
  model::Network back(small_spec());
  std::string e = error_of([&] { load_model_weights(path, back); });
  EXPECT_NE(e.find("non-finite"), std::string::npos) << e;
  // Saving such a network is refused, and the earlier file stays as it was.
  const auto before = fs::file_size(path);
  e = error_of([&] { save_model(path, nan_net, ""); });
  EXPECT_NE(e.find("'embed' holds 8 non-finite weight(s)"), std::string::npos) << e;
  EXPECT_EQ(fs::file_size(path), before);
}

TEST(ModelFile, OtherFilesAndNewerFormatsAreRefusedByName) {
  TempDir dir("st_ckpt_test_");
  model::Network net(small_spec());
  // A checkpoint is HDF5 too, but not a model file.
  const std::string ckpt = dir.file("ckpt.h5");
  save_sample(ckpt);
  std::string e = error_of([&] { read_model_config(ckpt); });
  EXPECT_NE(e.find("'" + ckpt + "' is not a sparsetrain model file"), std::string::npos) << e;
  // Text where a model is expected.
  const std::string text = dir.file("model.tsv");
  std::ofstream(text) << "1\t2\t3\n";
  EXPECT_NE(error_of([&] { read_model_config(text); }).find(text), std::string::npos);
  // A file from a newer build.
  const std::string path = dir.file("model.h5");
  save_model(path, net, "");
  ASSERT_TRUE(set_root_int_attr(path, "format_version", kModelFormatVersion + 1));
  e = error_of([&] { read_model_config(path); });
  EXPECT_NE(e.find("has model format version " + std::to_string(kModelFormatVersion + 1) + ", this build reads 1 to " +
                   std::to_string(kModelFormatVersion)),
            std::string::npos)
      << e;
}

TEST(ModelFile, FormatOneFilesStillLoadUnverified) {
  TempDir dir("st_ckpt_test_");
  model::Network net(small_spec());
  scramble(net, 8);
  const std::string path = dir.file("model.h5");
  save_model(path, net, "[train]\nseed = 11\n");
  ASSERT_TRUE(set_root_int_attr(path, "format_version", 1));
  EXPECT_EQ(read_model_config(path), "[train]\nseed = 11\n");
  model::Network back(small_spec());
  load_model_weights(path, back);
  for (size_t i = 0; i < net.blocks().size(); ++i) EXPECT_EQ(net.blocks()[i].w, back.blocks()[i].w);
}

TEST(CheckpointDir, ListsNewestFirstAndIgnoresOtherFiles) {
  TempDir dir("st_ckpt_test_");
  for (uint64_t s : {20, 100, 3}) std::ofstream(checkpoint_path(dir.path.string(), s)) << "x";
  std::ofstream(dir.file("ckpt-000000000500.h5.tmp.123")) << "x";
  std::ofstream(dir.file("ckpt-000000000400.h5.bad")) << "x";
  std::ofstream(dir.file("notes.txt")) << "x";
  const auto list = list_checkpoints(dir.path.string());
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].step, 100u);
  EXPECT_EQ(list[1].step, 20u);
  EXPECT_EQ(list[2].step, 3u);
  EXPECT_EQ(fs::path(list[0].path).filename(), "ckpt-000000000100.h5");
  EXPECT_EQ(remove_stale_temporaries(dir.path.string()), 1u);
  EXPECT_FALSE(fs::exists(dir.file("ckpt-000000000500.h5.tmp.123")));
  EXPECT_TRUE(list_checkpoints(dir.file("absent")).empty());
}

TEST(CheckpointDir, RotationKeepsTheNewestAndNeverTheOnlyGoodOne) {
  TempDir dir("st_ckpt_test_");
  const std::string d = dir.path.string();
  for (uint64_t s : {10, 20, 30, 40}) save_sample(checkpoint_path(d, s));
  EXPECT_EQ(rotate_checkpoints(d, 2, 40).size(), 2u);
  auto list = list_checkpoints(d);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].step, 40u);
  EXPECT_EQ(list[1].step, 30u);
  // A damaged "newest" never causes deletions: the older good one stays.
  fs::resize_file(checkpoint_path(d, 40), 64);
  EXPECT_NE(error_of([&] { rotate_checkpoints(d, 1, 40); }), "");
  EXPECT_TRUE(fs::exists(checkpoint_path(d, 30)));
  // keep = 1 with a good newest deletes everything older.
  save_sample(checkpoint_path(d, 50));
  rotate_checkpoints(d, 1, 50);
  list = list_checkpoints(d);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].step, 50u);
  EXPECT_EQ(quarantine_checkpoint(checkpoint_path(d, 50)), checkpoint_path(d, 50) + ".bad");
  EXPECT_TRUE(list_checkpoints(d).empty());
  // The same step quarantined again (rewritten after a resume, damaged again): the first
  // quarantined file stays as it was.
  save_sample(checkpoint_path(d, 50));
  fs::resize_file(checkpoint_path(d, 50), 64);
  EXPECT_EQ(quarantine_checkpoint(checkpoint_path(d, 50)), checkpoint_path(d, 50) + ".bad.1");
  save_sample(checkpoint_path(d, 50));
  EXPECT_EQ(quarantine_checkpoint(checkpoint_path(d, 50)), checkpoint_path(d, 50) + ".bad.2");
  EXPECT_GT(fs::file_size(checkpoint_path(d, 50) + ".bad"), 64u);
  EXPECT_EQ(fs::file_size(checkpoint_path(d, 50) + ".bad.1"), 64u);
  EXPECT_TRUE(list_checkpoints(d).empty());
}

TEST(TableSnapshot, RestoresTheTablesOfTheCapturedWeights) {
  // Network a: tables built from its initial weights, then the weights move on (as
  // training does between rebuilds) without a rebuild.
  model::Network a(small_spec());
  TableSnapshot at_rebuild;
  at_rebuild.capture(a);
  scramble(a, 9);
  // Network b: same current weights; tables rebuilt from the captured ones.
  model::Network b(small_spec());
  for (size_t i = 0; i < a.blocks().size(); ++i) b.blocks()[i] = a.blocks()[i];
  at_rebuild.restore_tables(b);
  EXPECT_TRUE(same_arrays(a, b));  // restoring tables leaves the current weights alone
  const data::Batch batch = random_batch(256, 4096, 2);
  EXPECT_EQ(predictions(a, batch), predictions(b, batch));
  // Tables from the current weights pick other neurons: the snapshot matters.
  model::Network c(small_spec());
  for (size_t i = 0; i < a.blocks().size(); ++i) c.blocks()[i] = a.blocks()[i];
  c.rebuild_tables();
  EXPECT_NE(predictions(a, batch), predictions(c, batch));
}
