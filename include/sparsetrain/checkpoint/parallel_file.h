#pragma once
// A model or checkpoint file written by one process, or, when the input table is sharded,
// by every rank at once through parallel HDF5: each rank writes the rows it holds (the
// shard's stride; collective hyperslab writes), nobody gathers the table. Still atomic:
// one temporary name for all ranks, rank 0 fsyncs and renames after the collective close.
#include <hdf5.h>

#include <string>
#include <vector>

#include "sparsetrain/checkpoint/h5.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/model/network.h"

namespace sparsetrain::checkpoint {

// Where this process's rows of a parameter array go, and with whom it sums checksums.
struct RowIo {
  collective::Comm* comm = nullptr;  // null: one process holds every row
  hid_t dxpl = H5P_DEFAULT;
  bool writer = true;  // writes the rows of unsharded blocks (rank 0 in a parallel file)
};

// The row checksum (util/checksum.h: row_hash_sum) of a [shard.global_rows x cols] array of which
// `data` holds this process's rows, summed over ranks when the array is sharded (then
// collective). Checkpoints (format 3) and model files (format 2) store it per dataset.
uint64_t rows_checksum(const void* data, const optim::RowShard& shard, size_t row_bytes, const RowIo& io);

class ParallelFile {
 public:
  // Parallel when `comm` is a real MPI world and `network`'s input table is sharded; then every
  // rank must construct it and make the same calls on the file.
  ParallelFile(collective::Comm* comm, const model::Network& network);
  ~ParallelFile();
  ParallelFile(const ParallelFile&) = delete;
  ParallelFile& operator=(const ParallelFile&) = delete;

  bool parallel() const { return parallel_; }
  hid_t fapl() const { return fapl_; }
  const RowIo& io() const { return io_; }
  // A [shard.global_rows x cols] dataset (cols = 0: 1-D) of rows held as `shard` says
  // (`data`: this process's rows). A sharded array is first re-blocked: in windows of
  // global rows, each rank sends its strided rows to the rank that writes them as one
  // contiguous range (one alltoallv per window), and every rank writes its range in one
  // collective call. Strided hyperslab writes of 64-byte rows ran at ~20 MB/s here.
  void write_rows(H5File& f, const std::string& name, hid_t type, const void* data, size_t elem_bytes,
                  const optim::RowShard& shard, uint64_t cols) const;
  // path + ".tmp.<pid of rank 0>": the same name on every rank.
  std::string temporary_name(const std::string& path) const;
  // After the file is closed: fsync + rename (rank 0), and every rank learns the outcome.
  void commit(const std::string& tmp, const std::string& path) const;

 private:
  collective::Comm* comm_;
  bool parallel_ = false;
  hid_t fapl_ = H5P_DEFAULT;
  RowIo io_;
  mutable std::vector<unsigned char> send_, recv_, block_;
};

}  // namespace sparsetrain::checkpoint
