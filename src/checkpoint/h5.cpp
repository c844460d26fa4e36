#include "sparsetrain/checkpoint/h5.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace sparsetrain::checkpoint {
namespace {

// HDF5 prints its own error stack by default; we report through exceptions instead.
struct SilenceHdf5 {
  SilenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
} silence_hdf5;

// The operating system's reason behind the HDF5 error now on the stack (HDF5's file
// drivers record "errno = 28, error message = 'No space left on device'" in their
// entries), as ": No space left on device"; "" when no entry carries one.
std::string system_reason() {
  int found = 0;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* out) -> herr_t {
        const char* at = e->desc ? std::strstr(e->desc, "errno = ") : nullptr;
        if (at && *static_cast<int*>(out) == 0) *static_cast<int*>(out) = std::atoi(at + 8);
        return 0;
      },
      &found);
  return found > 0 ? std::string(": ") + std::strerror(found) : std::string();
}

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  const std::string reason = system_reason();
  H5Eclear2(H5E_DEFAULT);
  throw H5Error("HDF5: " + what + " failed for '" + path + "'" + reason);
}

void check(herr_t rc, const std::string& what, const std::string& path) {
  if (rc < 0) fail(what, path);
}
hid_t check_id(hid_t id, const std::string& what, const std::string& path) {
  if (id < 0) fail(what, path);
  return id;
}

// Rows per slab so that one H5Dwrite/H5Dread moves at most ~256 MiB.
uint64_t slab_rows(uint64_t rows, uint64_t row_bytes) {
  const uint64_t max_bytes = 256ULL << 20;
  return std::max<uint64_t>(1, std::min<uint64_t>(rows, max_bytes / std::max<uint64_t>(row_bytes, 1)));
}

// A new [rows x cols] dataset (cols = 0: 1-D [rows]).
H5Handle create_dataset(hid_t file, const std::string& path, const std::string& name, hid_t type, uint64_t rows,
                        uint64_t cols) {
  hsize_t dims[2] = {rows, cols};
  H5Handle space(check_id(H5Screate_simple(cols ? 2 : 1, dims, nullptr), "dataspace " + name, path), H5Sclose);
  return H5Handle(check_id(H5Dcreate2(file, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                           "create dataset " + name, path),
                  H5Dclose);
}

template <typename T>
void write_2d(hid_t file, const std::string& path, const std::string& name, hid_t type, const T* data, uint64_t rows,
              uint64_t cols) {
  H5Handle dset = create_dataset(file, path, name, type, rows, cols);
  const uint64_t width = cols ? cols : 1;
  const uint64_t step = slab_rows(rows, width * sizeof(T));
  for (uint64_t r = 0; r < rows; r += step) {
    const uint64_t n = std::min(step, rows - r);
    hsize_t start[2] = {r, 0}, count[2] = {n, cols};
    H5Handle fspace(H5Dget_space(dset.get()), H5Sclose);
    check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr), "select " + name, path);
    H5Handle mspace(H5Screate_simple(cols ? 2 : 1, count, nullptr), H5Sclose);
    check(H5Dwrite(dset.get(), type, mspace.get(), fspace.get(), H5P_DEFAULT, data + r * width),
          "write dataset " + name, path);
  }
}

template <typename T>
void read_all(hid_t file, const std::string& path, const std::string& name, hid_t type, T* data, uint64_t count) {
  H5Handle dset(check_id(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "open dataset " + name, path), H5Dclose);
  H5Handle space(H5Dget_space(dset.get()), H5Sclose);
  const int nd = H5Sget_simple_extent_ndims(space.get());
  if (nd < 1 || nd > 2)  // (dims below has room for two: HDF5 writes one per dimension)
    throw H5Error("HDF5: dataset " + name + " in '" + path + "' has " + std::to_string(nd) +
                  " dimensions, expected 1 or 2");
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  const uint64_t rows = dims[0], cols = nd == 2 ? dims[1] : 0;
  const uint64_t width = cols ? cols : 1;
  if (rows * width != count) {
    throw H5Error("HDF5: dataset " + name + " in '" + path + "' has " + std::to_string(rows * width) +
                  " elements, expected " + std::to_string(count));
  }
  const uint64_t step = slab_rows(rows, width * sizeof(T));
  for (uint64_t r = 0; r < rows; r += step) {
    const uint64_t n = std::min(step, rows - r);
    hsize_t start[2] = {r, 0}, cnt[2] = {n, cols};
    H5Handle fspace(H5Dget_space(dset.get()), H5Sclose);
    check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, cnt, nullptr), "select " + name, path);
    H5Handle mspace(H5Screate_simple(nd, cnt, nullptr), H5Sclose);
    check(H5Dread(dset.get(), type, mspace.get(), fspace.get(), H5P_DEFAULT, data + r * width), "read dataset " + name,
          path);
  }
}

H5Handle open_object(hid_t file, const std::string& object, const std::string& path) {
  return H5Handle(check_id(H5Oopen(file, object.c_str(), H5P_DEFAULT), "open object " + object, path), H5Oclose);
}

void write_attr(hid_t file, const std::string& path, const std::string& object, const std::string& name, hid_t type,
                const void* value) {
  H5Handle obj = open_object(file, object, path);
  if (H5Aexists(obj.get(), name.c_str()) > 0) H5Adelete(obj.get(), name.c_str());
  H5Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  H5Handle attr(check_id(H5Acreate2(obj.get(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                         "create attribute " + name, path),
                H5Aclose);
  check(H5Awrite(attr.get(), type, value), "write attribute " + name, path);
}

}  // namespace

H5File H5File::create(const std::string& path, hid_t fapl) {
  H5File f;
  f.path_ = path;
  f.file_ =
      H5Handle(check_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), "create file", path), H5Fclose);
  return f;
}

namespace {
// Selects local rows [lo, hi) of `shard` in a [global_rows x cols] file space (cols = 0: 1-D).
void select_rows(hid_t fspace, const optim::RowShard& shard, uint64_t lo, uint64_t hi, uint64_t cols,
                 const std::string& name, const std::string& path) {
  if (lo >= hi) {
    check(H5Sselect_none(fspace), "select " + name, path);
    return;
  }
  hsize_t start[2] = {shard.global(lo), 0}, stride[2] = {shard.count, 1}, count[2] = {hi - lo, 1},
          block[2] = {1, cols ? cols : 1};
  check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, stride, count, block), "select " + name, path);
}
}  // namespace

void H5File::write_rows(const std::string& name, hid_t type, const void* data, size_t elem_bytes,
                        const optim::RowShard& shard, uint64_t cols, bool writer, hid_t dxpl) {
  H5Handle dset = create_dataset(id(), path_, name, type, shard.global_rows, cols);
  const uint64_t width = cols ? cols : 1;
  const uint64_t mine = shard.sharded() || writer ? shard.local_rows() : 0;
  // Rounds: from the largest share (rank 0's), so every rank makes the same number of calls.
  const optim::RowShard first{shard.global_rows, 0, shard.count};
  const uint64_t step = slab_rows(std::max<uint64_t>(first.local_rows(), 1), width * elem_bytes);
  const uint64_t rounds = (first.local_rows() + step - 1) / step;
  const auto* bytes = static_cast<const char*>(data);
  for (uint64_t k = 0; k < rounds; ++k) {
    const uint64_t lo = std::min(mine, k * step), hi = std::min(mine, (k + 1) * step);
    H5Handle fspace(H5Dget_space(dset.get()), H5Sclose);
    select_rows(fspace.get(), shard, lo, hi, cols, name, path_);
    hsize_t mdims[1] = {std::max<uint64_t>(hi - lo, 1) * width};
    H5Handle mspace(H5Screate_simple(1, mdims, nullptr), H5Sclose);
    if (hi == lo) check(H5Sselect_none(mspace.get()), "select " + name, path_);
    check(H5Dwrite(dset.get(), type, mspace.get(), fspace.get(), dxpl, bytes + lo * width * elem_bytes),
          "write dataset " + name, path_);
  }
}

void H5File::write_row_ranges(const std::string& name, hid_t type, uint64_t global_rows, uint64_t cols, hid_t dxpl,
                              uint64_t rounds,
                              const std::function<const void*(uint64_t, uint64_t&, uint64_t&)>& block) {
  H5Handle dset = create_dataset(id(), path_, name, type, global_rows, cols);
  const uint64_t width = cols ? cols : 1;
  for (uint64_t k = 0; k < rounds; ++k) {
    uint64_t lo = 0, hi = 0;
    const void* data = block(k, lo, hi);
    H5Handle fspace(H5Dget_space(dset.get()), H5Sclose);
    hsize_t mdims[1] = {std::max<uint64_t>(hi - lo, 1) * width};
    H5Handle mspace(H5Screate_simple(1, mdims, nullptr), H5Sclose);
    if (hi > lo) {
      hsize_t start[2] = {lo, 0}, count[2] = {hi - lo, cols};
      check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr), "select " + name, path_);
    } else {
      check(H5Sselect_none(fspace.get()), "select " + name, path_);
      check(H5Sselect_none(mspace.get()), "select " + name, path_);
    }
    check(H5Dwrite(dset.get(), type, mspace.get(), fspace.get(), dxpl, data), "write dataset " + name, path_);
  }
}

void H5File::read_rows(const std::string& name, hid_t type, void* data, size_t elem_bytes, const optim::RowShard& shard,
                       uint64_t cols) const {
  H5Handle dset(check_id(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), "open dataset " + name, path_), H5Dclose);
  const auto d = dims(name);
  if (d.size() != (cols ? 2u : 1u) || d[0] != shard.global_rows || (cols && d[1] != cols))
    throw H5Error("HDF5: dataset " + name + " in '" + path_ + "' does not have " + std::to_string(shard.global_rows) +
                  " rows of " + std::to_string(cols ? cols : 1));
  const uint64_t width = cols ? cols : 1, mine = shard.local_rows();
  const uint64_t step = slab_rows(std::max<uint64_t>(mine, 1), width * elem_bytes);
  auto* bytes = static_cast<char*>(data);
  for (uint64_t lo = 0; lo < mine; lo += step) {
    const uint64_t hi = std::min(mine, lo + step);
    H5Handle fspace(H5Dget_space(dset.get()), H5Sclose);
    select_rows(fspace.get(), shard, lo, hi, cols, name, path_);
    hsize_t mdims[1] = {(hi - lo) * width};
    H5Handle mspace(H5Screate_simple(1, mdims, nullptr), H5Sclose);
    check(H5Dread(dset.get(), type, mspace.get(), fspace.get(), H5P_DEFAULT, bytes + lo * width * elem_bytes),
          "read dataset " + name, path_);
  }
}

H5File H5File::open_read(const std::string& path) {
  H5File f;
  f.path_ = path;
  if (H5Fis_hdf5(path.c_str()) <= 0) throw H5Error("'" + path + "' is missing or not an HDF5 file");
  f.file_ = H5Handle(check_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open file", path), H5Fclose);
  return f;
}

H5File H5File::open_image(const void* data, size_t size, const std::string& name) {
  if (size == 0) throw H5Error("'" + name + "' is empty, not an HDF5 file");
  H5File f;
  f.path_ = name;
  H5Handle fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), "file access list", name), H5Pclose);
  check(H5Pset_fapl_core(fapl.get(), 1 << 16, /*backing_store=*/0), "core driver", name);
  check(H5Pset_file_image(fapl.get(), const_cast<void*>(data), size), "file image", name);
  f.file_ = H5Handle(check_id(H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.get()), "open file image", name), H5Fclose);
  return f;
}

void H5File::flush() { check(H5Fflush(id(), H5F_SCOPE_GLOBAL), "flush", path_); }

void H5File::create_group(const std::string& name) {
  H5Handle g(
      check_id(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create group " + name, path_),
      H5Gclose);
}

bool H5File::exists(const std::string& name) const { return H5Lexists(id(), name.c_str(), H5P_DEFAULT) > 0; }

void H5File::write_floats(const std::string& name, const float* data, uint64_t rows, uint64_t cols) {
  write_2d(id(), path_, name, H5T_NATIVE_FLOAT, data, rows, cols);
}
void H5File::write_u16(const std::string& name, const uint16_t* data, uint64_t rows, uint64_t cols) {
  write_2d(id(), path_, name, H5T_NATIVE_UINT16, data, rows, cols);
}
void H5File::write_u32(const std::string& name, const uint32_t* data, uint64_t n) {
  write_2d(id(), path_, name, H5T_NATIVE_UINT32, data, n, 0);
}
void H5File::write_u64(const std::string& name, const uint64_t* data, uint64_t n) {
  write_2d(id(), path_, name, H5T_NATIVE_UINT64, data, n, 0);
}
void H5File::write_u64(const std::string& name, const uint64_t* data, uint64_t rows, uint64_t cols) {
  write_2d(id(), path_, name, H5T_NATIVE_UINT64, data, rows, cols);
}
void H5File::write_f64(const std::string& name, const double* data, uint64_t n) {
  write_2d(id(), path_, name, H5T_NATIVE_DOUBLE, data, n, 0);
}

std::vector<uint64_t> H5File::dims(const std::string& name) const {
  H5Handle dset(check_id(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), "open dataset " + name, path_), H5Dclose);
  H5Handle space(H5Dget_space(dset.get()), H5Sclose);
  const int nd = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> d(static_cast<size_t>(std::max(nd, 0)));
  H5Sget_simple_extent_dims(space.get(), d.data(), nullptr);
  return {d.begin(), d.end()};
}

void H5File::read_floats(const std::string& name, float* data, uint64_t count) const {
  read_all(id(), path_, name, H5T_NATIVE_FLOAT, data, count);
}
void H5File::read_u16(const std::string& name, uint16_t* data, uint64_t count) const {
  read_all(id(), path_, name, H5T_NATIVE_UINT16, data, count);
}
bool H5File::is_u16(const std::string& name) const {
  H5Handle dset(check_id(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), "open dataset " + name, path_), H5Dclose);
  H5Handle type(check_id(H5Dget_type(dset.get()), "type of dataset " + name, path_), H5Tclose);
  return H5Tget_class(type.get()) == H5T_INTEGER && H5Tget_size(type.get()) == 2 &&
         H5Tget_sign(type.get()) == H5T_SGN_NONE;
}
void H5File::read_u32(const std::string& name, uint32_t* data, uint64_t count) const {
  read_all(id(), path_, name, H5T_NATIVE_UINT32, data, count);
}
namespace {
uint64_t element_count(const std::vector<uint64_t>& d) {
  uint64_t n = d.empty() ? 0 : 1;
  for (uint64_t x : d) n *= x;
  return n;
}

// The number of elements a dataset declares, once the file is seen to store them: a
// damaged file can declare 2^40 elements (without storing them), and the readers below
// would allocate that much before reading a byte.
uint64_t stored_count(hid_t file, const std::string& path, const std::string& name, uint64_t count) {
  H5Handle dset(check_id(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "open dataset " + name, path), H5Dclose);
  H5Handle type(check_id(H5Dget_type(dset.get()), "type of dataset " + name, path), H5Tclose);
  const uint64_t elem = H5Tget_size(type.get()), stored = H5Dget_storage_size(dset.get());
  if (elem == 0 || count > stored / elem)
    throw H5Error("HDF5: dataset " + name + " in '" + path + "' declares " + std::to_string(count) +
                  " elements but stores " + std::to_string(stored) + " bytes (damaged file?)");
  return count;
}
}  // namespace

std::vector<uint64_t> H5File::read_u64(const std::string& name) const {
  std::vector<uint64_t> out(stored_count(id(), path_, name, element_count(dims(name))));
  read_all(id(), path_, name, H5T_NATIVE_UINT64, out.data(), out.size());
  return out;
}
std::vector<double> H5File::read_f64(const std::string& name) const {
  std::vector<double> out(stored_count(id(), path_, name, element_count(dims(name))));
  read_all(id(), path_, name, H5T_NATIVE_DOUBLE, out.data(), out.size());
  return out;
}

void H5File::set_attr(const std::string& name, const std::string& value, const std::string& object) {
  H5Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(value.size(), 1));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  std::string v = value.empty() ? std::string(1, '\0') : value;
  write_attr(id(), path_, object, name, type.get(), v.data());
}
void H5File::set_attr(const std::string& name, int64_t value, const std::string& object) {
  write_attr(id(), path_, object, name, H5T_NATIVE_INT64, &value);
}
void H5File::set_attr(const std::string& name, double value, const std::string& object) {
  write_attr(id(), path_, object, name, H5T_NATIVE_DOUBLE, &value);
}

bool H5File::has_attr(const std::string& name, const std::string& object) const {
  H5Handle obj = open_object(id(), object, path_);
  return H5Aexists(obj.get(), name.c_str()) > 0;
}

std::string H5File::attr_string(const std::string& name, const std::string& object) const {
  H5Handle obj = open_object(id(), object, path_);
  H5Handle attr(check_id(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT), "open attribute " + name, path_), H5Aclose);
  H5Handle type(H5Aget_type(attr.get()), H5Tclose);
  const size_t size = H5Tget_size(type.get());
  std::string out(size, '\0');
  H5Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mem.get(), size);
  H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);
  check(H5Aread(attr.get(), mem.get(), out.data()), "read attribute " + name, path_);
  while (!out.empty() && out.back() == '\0') out.pop_back();
  return out;
}
int64_t H5File::attr_int(const std::string& name, const std::string& object) const {
  H5Handle obj = open_object(id(), object, path_);
  H5Handle attr(check_id(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT), "open attribute " + name, path_), H5Aclose);
  int64_t v = 0;
  check(H5Aread(attr.get(), H5T_NATIVE_INT64, &v), "read attribute " + name, path_);
  return v;
}
double H5File::attr_double(const std::string& name, const std::string& object) const {
  H5Handle obj = open_object(id(), object, path_);
  H5Handle attr(check_id(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT), "open attribute " + name, path_), H5Aclose);
  double v = 0;
  check(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &v), "read attribute " + name, path_);
  return v;
}

}  // namespace sparsetrain::checkpoint
