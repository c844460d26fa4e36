#include "sparsetrain/dist/comm.h"

#include <mpi.h>

#include <cstdlib>
#include <iostream>
#include <stdexcept>

namespace sparsetrain::dist {
namespace {

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(var)) return true;
  return false;
}

void check(int rc, const char* call, int rank) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw std::runtime_error("rank " + std::to_string(rank) + ": " + call + " failed: " + std::string(text, len));
}

template <typename T>
std::vector<T> gatherv(const std::vector<T>& local, MPI_Datatype type, int size, int rank, uint64_t& bytes) {
  int n = static_cast<int>(local.size());
  std::vector<int> counts(size), displs(size);
  check(MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather", rank);
  int total = 0;
  for (int r = 0; r < size; ++r) {
    displs[r] = total;
    total += counts[r];
  }
  std::vector<T> out(static_cast<size_t>(total));
  check(MPI_Allgatherv(local.data(), n, type, out.data(), counts.data(), displs.data(), type, MPI_COMM_WORLD),
        "MPI_Allgatherv", rank);
  bytes += local.size() * sizeof(T) * static_cast<uint64_t>(size - 1);
  return out;
}

}  // namespace

Comm& Comm::world(int* argc, char*** argv) {
  static Comm comm(argc, argv);
  return comm;
}

Comm::Comm(int* argc, char*** argv) {
  if (!launched_by_mpi()) return;
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    throw std::runtime_error("MPI_Init_thread failed");
  mpi_ = true;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

Comm::~Comm() { finalize(); }

void Comm::finalize() {
  if (mpi_ && !finalized_) {
    finalized_ = true;
    MPI_Finalize();
  }
}

void Comm::barrier() {
  if (mpi_) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier", rank_);
}

void Comm::allreduce_sum(float* data, size_t n) {
  if (!mpi_ || n == 0) return;
  check(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce",
        rank_);
  bytes_sent_ += n * sizeof(float);
}
void Comm::allreduce_sum(double* data, size_t n) {
  if (!mpi_ || n == 0) return;
  check(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
        "MPI_Allreduce", rank_);
  bytes_sent_ += n * sizeof(double);
}
void Comm::allreduce_sum(uint64_t* data, size_t n) {
  if (!mpi_ || n == 0) return;
  check(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD),
        "MPI_Allreduce", rank_);
  bytes_sent_ += n * sizeof(uint64_t);
}
void Comm::allreduce_max(double* data, size_t n) {
  if (!mpi_ || n == 0) return;
  check(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD),
        "MPI_Allreduce", rank_);
}
void Comm::allreduce_min(uint64_t* data, size_t n) {
  if (!mpi_ || n == 0) return;
  check(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD),
        "MPI_Allreduce", rank_);
}

std::vector<float> Comm::allgatherv(const std::vector<float>& local) {
  return mpi_ ? gatherv(local, MPI_FLOAT, size_, rank_, bytes_sent_) : local;
}
std::vector<uint32_t> Comm::allgatherv(const std::vector<uint32_t>& local) {
  return mpi_ ? gatherv(local, MPI_UINT32_T, size_, rank_, bytes_sent_) : local;
}
std::vector<uint64_t> Comm::allgatherv(const std::vector<uint64_t>& local) {
  return mpi_ ? gatherv(local, MPI_UINT64_T, size_, rank_, bytes_sent_) : local;
}

void Comm::broadcast(std::string& value, int root) {
  if (!mpi_) return;
  uint64_t n = value.size();
  check(MPI_Bcast(&n, 1, MPI_UINT64_T, root, MPI_COMM_WORLD), "MPI_Bcast", rank_);
  value.resize(n);
  check(MPI_Bcast(value.data(), static_cast<int>(n), MPI_CHAR, root, MPI_COMM_WORLD), "MPI_Bcast", rank_);
}

void Comm::abort(const std::string& message, int code) {
  std::cerr << "error: " << (size_ > 1 ? "rank " + std::to_string(rank_) + ": " : "") << message << std::endl;
  if (mpi_ && !finalized_) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

int run_guarded(Comm& comm, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    comm.abort(e.what(), 1);
  }
}

}  // namespace sparsetrain::dist
