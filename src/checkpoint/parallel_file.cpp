#include "sparsetrain/checkpoint/parallel_file.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "sparsetrain/collective/h5_mpio.h"
#include "sparsetrain/util/checksum.h"
#include "sparsetrain/util/commit_file.h"

namespace sparsetrain::checkpoint {

uint64_t rows_checksum(const void* data, const optim::RowShard& shard, size_t row_bytes, const RowIo& io) {
  uint64_t sum = util::row_hash_sum(data, shard.local_rows(), row_bytes, shard.rank, shard.count);
  if (shard.sharded()) {
    if (!io.comm) throw std::logic_error("a sharded array needs the communicator to sum its checksum");
    sum = io.comm->sum(sum);
  }
  return util::finish_row_checksum(sum, shard.global_rows, row_bytes);
}

ParallelFile::ParallelFile(collective::Comm* comm, const model::Network& network) : comm_(comm) {
  parallel_ = comm && comm->uses_mpi() && network.table_sharded();
  io_.comm = comm;
  if (!parallel_) return;
  fapl_ = collective::h5_file_access(*comm);
  io_.dxpl = collective::h5_transfer(*comm);
  io_.writer = comm->is_root();
}

ParallelFile::~ParallelFile() {
  if (!parallel_) return;
  H5Pclose(fapl_);
  H5Pclose(io_.dxpl);
}

void ParallelFile::write_rows(H5File& f, const std::string& name, hid_t type, const void* data, size_t elem_bytes,
                              const optim::RowShard& shard, uint64_t cols) const {
  if (!parallel_ || !shard.sharded()) {
    f.write_rows(name, type, data, elem_bytes, shard, cols, io_.writer, io_.dxpl);
    return;
  }
  const uint64_t P = shard.count, me = shard.rank, N = shard.global_rows;
  const size_t row = elem_bytes * (cols ? cols : 1);
  // Windows of S global rows (a multiple of P), ~64 MiB per rank each.
  const uint64_t per_rank = std::max<uint64_t>(1, (uint64_t{64} << 20) / row);
  const uint64_t S = per_rank * P, rounds = (N + S - 1) / S;
  const auto* mine = static_cast<const unsigned char*>(data);
  f.write_row_ranges(name, type, N, cols, io_.dxpl, rounds, [&](uint64_t k, uint64_t& lo, uint64_t& hi) {
    const uint64_t a = k * S, b = std::min(N, a + S);
    const auto writer_lo = [&](uint64_t q) { return a + q * (b - a) / P; };  // rank q writes [lo(q), lo(q+1))
    // My rows in [a, b): local rows [l0, l1), global l * P + me, increasing.
    const uint64_t l0 = a > me ? (a - me + P - 1) / P : 0, l1 = b > me ? (b - me + P - 1) / P : 0;
    std::vector<uint64_t> send(P, 0), recv(P, 0);
    for (uint64_t l = l0, q = 0; l < l1; ++l) {
      const uint64_t g = l * P + me;
      while (g >= writer_lo(q + 1)) ++q;
      send[q] += row;
    }
    lo = writer_lo(me);
    hi = writer_lo(me + 1);
    for (uint64_t g = lo; g < hi; ++g) recv[g % P] += row;
    recv_.resize((hi - lo) * row);
    io_.comm->alltoallv_bytes(mine + l0 * row, send, recv_.data(), recv);
    // From rank r: its rows g = r (mod P) of [lo, hi), in order; interleave them.
    std::vector<uint64_t> at(P + 1, 0);
    for (uint64_t r = 0; r < P; ++r) at[r + 1] = at[r] + recv[r];
    block_.resize((hi - lo) * row);
    for (uint64_t g = lo; g < hi; ++g) {
      uint64_t& from = at[g % P];
      std::memcpy(&block_[(g - lo) * row], &recv_[from], row);
      from += row;
    }
    return static_cast<const void*>(block_.data());
  });
}

std::string ParallelFile::temporary_name(const std::string& path) const {
  std::string pid = std::to_string(::getpid());
  if (parallel_) comm_->broadcast(pid, 0);
  return path + ".tmp." + pid;
}

void ParallelFile::commit(const std::string& tmp, const std::string& path) const {
  if (!parallel_) {
    util::commit_file(tmp, path);
    return;
  }
  std::string error;
  if (comm_->is_root()) {
    try {
      util::commit_file(tmp, path);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  comm_->broadcast(error, 0);
  if (!error.empty()) throw std::runtime_error(error);
}

}  // namespace sparsetrain::checkpoint
