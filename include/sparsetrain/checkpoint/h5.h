#pragma once
// Thin RAII layer over the HDF5 C API: the handful of calls the model files and
// checkpoints need, each failure turned into an exception naming the file and object.
#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sparsetrain/optim/row_shard.h"

namespace sparsetrain::checkpoint {

class H5Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Owns one hid_t and closes it with the matching H5*close.
class H5Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Handle() = default;
  H5Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~H5Handle() { reset(); }
  H5Handle(H5Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  H5Handle& operator=(H5Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = -1;
    }
    return *this;
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  hid_t get() const { return id_; }
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

class H5File {
 public:
  // Truncates. fapl: file access (collective::h5_file_access for parallel HDF5; then every
  // rank must make the same calls on the file, in the same order, with the same values).
  static H5File create(const std::string& path, hid_t fapl = H5P_DEFAULT);
  static H5File open_read(const std::string& path);
  // Read-only, from a whole file's bytes in memory (HDF5's core driver; the bytes are
  // copied). `name` stands for the path in messages. For tests and fuzzing.
  static H5File open_image(const void* data, size_t size, const std::string& name);
  const std::string& path() const { return path_; }
  hid_t id() const { return file_.get(); }
  void flush();
  void close() { file_.reset(); }

  void create_group(const std::string& name);
  bool exists(const std::string& name) const;

  // Datasets of 1-2 dimensions; large ones are written/read in slabs.
  void write_floats(const std::string& name, const float* data, uint64_t rows, uint64_t cols);
  void write_u16(const std::string& name, const uint16_t* data, uint64_t rows, uint64_t cols);  // 2-D
  void write_u32(const std::string& name, const uint32_t* data, uint64_t n);
  void write_u64(const std::string& name, const uint64_t* data, uint64_t n);
  void write_u64(const std::string& name, const uint64_t* data, uint64_t rows, uint64_t cols);  // 2-D
  void write_f64(const std::string& name, const double* data, uint64_t n);
  // A [shard.global_rows x cols] dataset (cols = 0: 1-D) of which this process writes the
  // rows it holds: the shard's stride (start rank, stride count) from `data`, or for a
  // whole (unsharded) shard every row when `writer`, none otherwise. dxpl: the transfer
  // (collective::h5_transfer in a parallel file: every rank calls, rankless ones select
  // nothing). Written in rounds of at most ~256 MiB per rank, the same count on every rank.
  void write_rows(const std::string& name, hid_t type, const void* data, size_t elem_bytes,
                  const optim::RowShard& shard, uint64_t cols, bool writer, hid_t dxpl);
  // Creates a [global_rows x cols] dataset (cols = 0: 1-D) and fills it in `rounds`
  // calls, the same count on every rank: in round k, block(k, lo, hi) returns the rows
  // [lo, hi) this process writes there (lo == hi: none). dxpl as in write_rows.
  void write_row_ranges(const std::string& name, hid_t type, uint64_t global_rows, uint64_t cols, hid_t dxpl,
                        uint64_t rounds,
                        const std::function<const void*(uint64_t k, uint64_t& lo, uint64_t& hi)>& block);
  // This process's rows of the shard's stride (all rows for a whole shard) into `data`;
  // the dataset must be [shard.global_rows x cols] (cols = 0: 1-D).
  void read_rows(const std::string& name, hid_t type, void* data, size_t elem_bytes, const optim::RowShard& shard,
                 uint64_t cols) const;
  std::vector<uint64_t> dims(const std::string& name) const;
  void read_floats(const std::string& name, float* data, uint64_t count) const;
  void read_u16(const std::string& name, uint16_t* data, uint64_t count) const;
  void read_u32(const std::string& name, uint32_t* data, uint64_t count) const;
  // True when the dataset stores 16-bit unsigned integers (e.g. bfloat16 bit patterns).
  bool is_u16(const std::string& name) const;
  std::vector<uint64_t> read_u64(const std::string& name) const;  // all elements, row-major
  std::vector<double> read_f64(const std::string& name) const;

  // Attributes on the root group (or on an object path).
  void set_attr(const std::string& name, const std::string& value, const std::string& object = "/");
  void set_attr(const std::string& name, int64_t value, const std::string& object = "/");
  void set_attr(const std::string& name, double value, const std::string& object = "/");
  std::string attr_string(const std::string& name, const std::string& object = "/") const;
  int64_t attr_int(const std::string& name, const std::string& object = "/") const;
  double attr_double(const std::string& name, const std::string& object = "/") const;
  bool has_attr(const std::string& name, const std::string& object = "/") const;

 private:
  std::string path_;
  H5Handle file_;
};

}  // namespace sparsetrain::checkpoint
