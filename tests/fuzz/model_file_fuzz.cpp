// Fuzzes the model-file and checkpoint loaders (src/checkpoint/model_file.cpp,
// checkpoint.cpp, h5.cpp) on HDF5 files opened from memory (H5File::open_image).
//
// Input: the bytes of an HDF5 file; scripts/fuzz.sh seeds it with a model.h5 and
// checkpoints that the built binary writes. Each input goes the way `evaluate` and a
// resume go: read the stored config, build the network it describes (when small: the
// fuzzer is not here to allocate what a corrupt config asks for), load the weights.
// Properties, besides the sanitizers' checks: the loaders fail only with their own
// errors (H5Error, CheckpointError, ConfigError, and runtime_error from a table snapshot
// of the wrong shape), never with anything else; a loaded state is consistent (one
// window entry per rank, every data remainder in range).
//
// Mutations (LLVMFuzzerCustomMutator below) change the file's content through the HDF5
// API, not its bytes: attributes rewritten (numbers, text, the config's INI text mutated
// byte-wise), deleted or retyped; datasets deleted, swapped, reshaped (other dims, rank,
// element type) or their values mutated, with the checksum attribute recomputed or not.
// The file stays well-formed HDF5, so what is tested is our loader, not HDF5's decoder:
// byte-level mutation (FUZZ_H5_RAW=1 in the environment) soon finds HDF5 1.10.8's own
// faults on corrupt metadata (e.g. H5C_protect allocating 16 GiB for an object header
// whose length field was hit), which this project cannot fix.
#include <hdf5.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "sparsetrain/checkpoint/checkpoint.h"
#include "sparsetrain/checkpoint/h5.h"
#include "sparsetrain/checkpoint/model_file.h"
#include "sparsetrain/cli/config.h"
#include "sparsetrain/train/setup.h"
#include "sparsetrain/util/checksum.h"

using namespace sparsetrain;

namespace {

// The network a stored config describes, or null when it is too big to build per input.
std::unique_ptr<model::Network> small_network(const std::string& ini) {
  cli::Config config;
  try {
    config = cli::parse_args({}, {}, ini).config;
  } catch (const cli::ConfigError&) {
    return nullptr;  // a stored config that does not parse: evaluate stops there too
  }
  model::NetworkSpec spec = train::network_spec(config);
  spec.initialize = false;  // about to be loaded
  if (model::parameter_count(spec) > (1u << 18) || spec.hidden.size() > 4) return nullptr;
  const uint64_t lsh_slots = (uint64_t{1} << spec.lsh.bits_per_table) * static_cast<uint64_t>(spec.lsh.num_tables) *
                             static_cast<uint64_t>(spec.lsh.bucket_capacity);
  if (lsh_slots > (1u << 18)) return nullptr;
  return std::make_unique<model::Network>(spec);
}

template <typename F> void expect_own_errors(F&& load) {
  try {
    load();
  } catch (const checkpoint::H5Error&) {
  } catch (const checkpoint::CheckpointError&) {
  } catch (const cli::ConfigError&) {
  } catch (const std::logic_error& e) {
    std::fprintf(stderr, "logic_error from a loader: %s\n", e.what());
    FUZZ_CHECK(false);
  } catch (const std::runtime_error&) {
    // TableSnapshot::restore_tables: "LSH table source ... has the wrong shape".
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<checkpoint::H5File> file;
  try {
    file.emplace(checkpoint::H5File::open_image(data, size, "fuzz.h5"));
  } catch (const checkpoint::H5Error&) {
    return 0;  // not an HDF5 file
  }
  const checkpoint::H5File& f = *file;

  // evaluate / predict: config, network, weights.
  expect_own_errors([&] {
    const std::string ini = checkpoint::read_model_config(f);
    auto net = small_network(ini);
    if (net) checkpoint::load_model_weights(f, *net);
  });

  // resume: the state (read alone first, as the trainer does), then everything.
  expect_own_errors([&] {
    const checkpoint::TrainState s = checkpoint::read_checkpoint_state(f);
    FUZZ_CHECK(s.nranks >= 1 && s.window_loss_sum.size() == s.nranks && s.window_samples.size() == s.nranks);
    FUZZ_CHECK(s.inputs.size() == s.input_sizes.size());
    for (const auto& r : s.remainders) FUZZ_CHECK(r.rank < s.nranks && r.file < s.inputs.size() && r.stride > 0);
    // The state survives the broadcast encoding.
    // The state survives the broadcast encoding (compared as bytes: a NaN is a NaN).
    const std::string bytes = checkpoint::encode_state(s);
    FUZZ_CHECK(checkpoint::encode_state(checkpoint::decode_state(bytes)) == bytes);
    auto net = small_network(s.config_ini);
    if (!net) return;
    checkpoint::TableSnapshot tables;
    const checkpoint::TrainState again = checkpoint::load_checkpoint(f, *net, tables);
    FUZZ_CHECK(checkpoint::encode_state(again) == bytes);
  });
  return 0;
}

// --- the structure-aware mutator ----------------------------------------------------------

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

struct Names {
  std::vector<std::string> objects;  // every group and dataset, "/" first
  std::vector<std::string> datasets;
};

herr_t collect_link(hid_t, const char* name, const H5L_info_t*, void* op) {
  static_cast<Names*>(op)->objects.push_back(std::string("/") + name);
  return 0;
}

herr_t collect_attr(hid_t, const char* name, const H5A_info_t*, void* op) {
  static_cast<std::vector<std::string>*>(op)->push_back(name);
  return 0;
}

// An HDF5 id closed at the end of the scope (a failed call gives a negative id: no close).
struct Id {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Id() {
    if (id >= 0) close(id);
  }
};

int64_t interesting_int(std::mt19937_64& rng) {
  static constexpr int64_t kValues[] = {0,
                                        1,
                                        2,
                                        3,
                                        4,
                                        -1,
                                        7,
                                        8,
                                        16,
                                        255,
                                        256,
                                        65536,
                                        1LL << 31,
                                        1LL << 32,
                                        std::numeric_limits<int64_t>::max(),
                                        std::numeric_limits<int64_t>::min()};
  return rng() % 4 == 0 ? static_cast<int64_t>(rng()) : kValues[rng() % std::size(kValues)];
}

double interesting_double(std::mt19937_64& rng) {
  static constexpr double kValues[] = {0.0,
                                       -0.0,
                                       1.0,
                                       -1.0,
                                       0.5,
                                       1e300,
                                       -1e300,
                                       5e-324,
                                       std::numeric_limits<double>::infinity(),
                                       std::numeric_limits<double>::quiet_NaN()};
  return rng() % 4 == 0 ? std::ldexp(static_cast<double>(rng() % 2000) - 1000.0, static_cast<int>(rng() % 80) - 40)
                        : kValues[rng() % std::size(kValues)];
}

std::string read_string_attr(hid_t attr) {
  Id type{H5Aget_type(attr), H5Tclose};
  if (type.id < 0 || H5Tget_class(type.id) != H5T_STRING || H5Tis_variable_str(type.id) > 0) return "";
  const size_t size = H5Tget_size(type.id);
  if (size == 0 || size > (1 << 20)) return "";
  std::string out(size, '\0');
  Id mem{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(mem.id, size);
  if (H5Aread(attr, mem.id, out.data()) < 0) return "";
  while (!out.empty() && out.back() == '\0') out.pop_back();
  return out;
}

void write_attr(hid_t obj, const std::string& name, hid_t type, const void* value) {
  H5Adelete(obj, name.c_str());
  Id space{H5Screate(H5S_SCALAR), H5Sclose};
  Id attr{H5Acreate2(obj, name.c_str(), type, space.id, H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  if (attr.id >= 0) H5Awrite(attr.id, type, value);
}

void write_string_attr(hid_t obj, const std::string& name, const std::string& value) {
  Id type{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(type.id, std::max<size_t>(value.size(), 1));
  H5Tset_strpad(type.id, H5T_STR_NULLPAD);
  const std::string v = value.empty() ? std::string(1, '\0') : value;
  write_attr(obj, name, type.id, v.data());
}

// The checksum attribute the loaders verify, recomputed for the dataset's current bytes
// (as the writer computes it: per-row hashes under /params, else the whole array's).
void refresh_checksum(hid_t dset, const std::string& path, const std::vector<char>& bytes, uint64_t rows) {
  using namespace sparsetrain::util;
  uint64_t sum;
  if (path.rfind("/params/", 0) == 0 && rows > 0) {
    const size_t row_bytes = bytes.size() / rows;
    sum = finish_row_checksum(row_hash_sum(bytes.data(), rows, row_bytes, 0, 1), rows, row_bytes);
  } else {
    sum = checksum64(bytes.data(), bytes.size());
  }
  write_string_attr(dset, "checksum", checksum_hex(sum));
}

hid_t pick_type(std::mt19937_64& rng) {
  static const hid_t* kTypes[] = {&H5T_NATIVE_FLOAT_g,  &H5T_NATIVE_DOUBLE_g, &H5T_NATIVE_UINT16_g,
                                  &H5T_NATIVE_UINT32_g, &H5T_NATIVE_UINT64_g, &H5T_NATIVE_INT64_g,
                                  &H5T_NATIVE_INT8_g};
  return *kTypes[rng() % std::size(kTypes)];
}

// One content-level change to the open file `f`.
void mutate_file(hid_t f, std::mt19937_64& rng) {
  Names names;
  names.objects.push_back("/");
  H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, collect_link, &names);
  for (const auto& n : names.objects) {
    Id o{H5Oopen(f, n.c_str(), H5P_DEFAULT), H5Oclose};
    if (o.id >= 0 && H5Iget_type(o.id) == H5I_DATASET) names.datasets.push_back(n);
  }
  const std::string& obj_name = names.objects[rng() % names.objects.size()];
  const unsigned kind = rng() % 10;

  if (kind <= 3) {  // an attribute: a number, a mutated text, another type, or gone
    Id obj{H5Oopen(f, obj_name.c_str(), H5P_DEFAULT), H5Oclose};
    if (obj.id < 0) return;
    std::vector<std::string> attrs;
    H5Aiterate2(obj.id, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_attr, &attrs);
    static const char* kNames[] = {"format", "format_version", "config",          "complete", "nranks",
                                   "step",   "checksum",       "parameter_count", "inputs",   "encoding"};
    const std::string name =
        !attrs.empty() && rng() % 4 != 0 ? attrs[rng() % attrs.size()] : kNames[rng() % std::size(kNames)];
    if (kind == 0) {
      const int64_t v = interesting_int(rng);
      write_attr(obj.id, name, H5T_NATIVE_INT64, &v);
    } else if (kind == 1) {
      std::string text;
      {
        Id attr{H5Aopen(obj.id, name.c_str(), H5P_DEFAULT), H5Aclose};
        if (attr.id >= 0) text = read_string_attr(attr.id);
      }
      const size_t used = std::min<size_t>(text.size(), 1 << 16);
      text.resize(used + 64);
      text.resize(LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(text.data()), used, text.size()));
      write_string_attr(obj.id, name, text);
    } else if (kind == 2) {
      if (rng() % 2) {
        const double v = interesting_double(rng);
        write_attr(obj.id, name, H5T_NATIVE_DOUBLE, &v);
      } else {  // a variable-length string where a fixed-length one is read
        Id type{H5Tcopy(H5T_C_S1), H5Tclose};
        H5Tset_size(type.id, H5T_VARIABLE);
        const char* v = "sparsetrain-model";
        write_attr(obj.id, name, type.id, &v);
      }
    } else {
      H5Adelete(obj.id, name.c_str());
    }
    return;
  }
  if (kind == 4) {  // an object gone
    if (obj_name != "/") H5Ldelete(f, obj_name.c_str(), H5P_DEFAULT);
    return;
  }
  if (names.datasets.empty()) return;
  const std::string& ds_name = names.datasets[rng() % names.datasets.size()];
  if (kind == 5) {  // two datasets swap places (e.g. a block's weights where another's belong)
    const std::string& other = names.datasets[rng() % names.datasets.size()];
    if (other == ds_name) return;
    H5Lmove(f, ds_name.c_str(), f, "/swap_tmp", H5P_DEFAULT, H5P_DEFAULT);
    H5Lmove(f, other.c_str(), f, ds_name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    H5Lmove(f, "/swap_tmp", f, other.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    return;
  }
  Id dset{H5Dopen2(f, ds_name.c_str(), H5P_DEFAULT), H5Dclose};
  if (dset.id < 0) return;
  Id space{H5Dget_space(dset.id), H5Sclose};
  const int nd = H5Sget_simple_extent_ndims(space.id);
  if (nd < 0 || nd > 3) return;
  hsize_t dims[3] = {0, 0, 0};
  H5Sget_simple_extent_dims(space.id, dims, nullptr);
  Id file_type{H5Dget_type(dset.id), H5Tclose};
  Id type{H5Tget_native_type(file_type.id, H5T_DIR_ASCEND), H5Tclose};
  if (type.id < 0) return;

  if (kind <= 7) {  // its values mutated, the checksum refreshed or not
    const size_t elem = H5Tget_size(type.id);
    uint64_t count = 1;
    for (int i = 0; i < nd; ++i) count *= dims[i];
    if (count == 0 || elem == 0 || count * elem > (1u << 22) || H5Tget_class(type.id) == H5T_STRING) return;
    std::vector<char> bytes(count * elem);
    if (H5Dread(dset.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()) < 0) return;
    if (rng() % 2) {
      LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size(), bytes.size());
    } else {  // one element set to a special value
      const size_t at = (rng() % count) * elem;
      if (H5Tget_class(type.id) == H5T_FLOAT && elem == 4) {
        const float v = static_cast<float>(interesting_double(rng));
        std::memcpy(bytes.data() + at, &v, 4);
      } else {
        const int64_t v = interesting_int(rng);
        std::memcpy(bytes.data() + at, &v, std::min<size_t>(elem, 8));
      }
    }
    H5Dwrite(dset.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
    if (kind == 7) refresh_checksum(dset.id, ds_name, bytes, nd > 0 ? dims[0] : 1);
    return;
  }

  // kind 8, 9: the dataset replaced by one of another shape and/or element type, holding
  // random values (or, when huge, none: HDF5 then reads its fill value).
  int new_nd = nd == 0 ? 1 : nd;
  if (rng() % 5 == 0) new_nd = 1 + static_cast<int>(rng() % 3);
  hsize_t new_dims[3];
  uint64_t count = 1;
  for (int i = 0; i < new_nd; ++i) {
    const hsize_t base = i < nd ? dims[i] : 1;
    switch (rng() % 8) {
      case 0: new_dims[i] = base + 1; break;
      case 1: new_dims[i] = base > 0 ? base - 1 : 0; break;
      case 2: new_dims[i] = rng() % 3; break;
      case 3: new_dims[i] = hsize_t{1} << (rng() % 41); break;
      default: new_dims[i] = base;
    }
    count *= new_dims[i];
  }
  const hid_t new_type = kind == 8 ? type.id : pick_type(rng);
  const size_t elem = H5Tget_size(new_type);
  std::vector<std::string> attr_names;
  H5Aiterate2(dset.id, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_attr, &attr_names);
  std::string checksum;
  {
    Id attr{H5Aopen(dset.id, "checksum", H5P_DEFAULT), H5Aclose};
    if (attr.id >= 0) checksum = read_string_attr(attr.id);
  }
  H5Dclose(dset.id);
  dset.id = -1;
  H5Ldelete(f, ds_name.c_str(), H5P_DEFAULT);
  Id new_space{H5Screate_simple(new_nd, new_dims, nullptr), H5Sclose};
  Id dcpl{H5Pcreate(H5P_DATASET_CREATE), H5Pclose};
  H5Pset_alloc_time(dcpl.id, H5D_ALLOC_TIME_LATE);
  H5Pset_fill_time(dcpl.id, H5D_FILL_TIME_NEVER);
  Id created{H5Dcreate2(f, ds_name.c_str(), new_type, new_space.id, H5P_DEFAULT, dcpl.id, H5P_DEFAULT), H5Dclose};
  if (created.id < 0) return;
  if (count > 0 && count * elem <= (1u << 16)) {
    std::vector<char> bytes(count * elem);
    for (auto& b : bytes) b = static_cast<char>(rng() % 4 == 0 ? rng() : 0);
    H5Dwrite(created.id, new_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
    if (rng() % 2)
      refresh_checksum(created.id, ds_name, bytes, new_dims[0]);
    else if (!checksum.empty())
      write_string_attr(created.id, "checksum", checksum);
  } else if (!checksum.empty()) {
    write_string_attr(created.id, "checksum", checksum);
  }
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  static const bool raw = std::getenv("FUZZ_H5_RAW") != nullptr;
  if (raw || size == 0) return LLVMFuzzerMutate(data, size, max_size);
  std::mt19937_64 rng(seed);
  Id fapl{H5Pcreate(H5P_FILE_ACCESS), H5Pclose};
  H5Pset_fapl_core(fapl.id, 1 << 16, /*backing_store=*/0);
  H5Pset_file_image(fapl.id, data, size);
  Id f{H5Fopen("mutate.h5", H5F_ACC_RDWR, fapl.id), H5Fclose};
  if (f.id < 0) return size;  // not HDF5 (only from outside the corpus): left as it is
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int i = 0; i < edits; ++i) mutate_file(f.id, rng);
  H5Fflush(f.id, H5F_SCOPE_GLOBAL);
  const ssize_t image = H5Fget_file_image(f.id, nullptr, 0);
  if (image <= 0 || static_cast<size_t>(image) > max_size) return size;
  std::vector<uint8_t> out(static_cast<size_t>(image));
  if (H5Fget_file_image(f.id, out.data(), out.size()) != image) return size;
  std::memcpy(data, out.data(), out.size());
  return out.size();
}
