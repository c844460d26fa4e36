#include "sparsetrain/collective/comm.h"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <stdexcept>

#ifdef SPARSETRAIN_COVERAGE
extern "C" void __gcov_dump();  // libgcov
#endif

namespace sparsetrain::collective {
namespace {

enum Op { kSum, kMax, kMin };

bool launched_by_mpi() {
#ifdef SPARSETRAIN_SMPI
  return true;  // built with SimGrid's smpicxx (tests/bench/smpi): always an smpirun rank
#endif
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(var)) return true;
  return false;
}

std::string error_text(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) return "MPI error code " + std::to_string(rc);
  return std::string(text, static_cast<size_t>(len));
}

template <typename T> MPI_Datatype type_of();
template <> MPI_Datatype type_of<float>() { return MPI_FLOAT; }
template <> MPI_Datatype type_of<double>() { return MPI_DOUBLE; }
template <> MPI_Datatype type_of<uint32_t>() { return MPI_UINT32_T; }
template <> MPI_Datatype type_of<uint64_t>() { return MPI_UINT64_T; }
template <> MPI_Datatype type_of<unsigned char>() { return MPI_BYTE; }

MPI_Op op_of(int op) { return op == kSum ? MPI_SUM : op == kMax ? MPI_MAX : MPI_MIN; }

// Ring-model bytes (see comm.h): allreduce 2(P-1)/P n, broadcast (P-1)/P n.
uint64_t ring_allreduce_bytes(uint64_t n, int P) { return (2 * (P - 1) * n + P - 1) / P; }
uint64_t ring_broadcast_bytes(uint64_t n, int P) { return ((P - 1) * n + P - 1) / P; }

// Rank that aborts from the terminate handler; set once MPI is up.
int g_terminate_rank = -1;

// An exception escaping a thread, a destructor or noexcept code ends the process
// through std::terminate. Under mpirun that would leave only "terminate called"
// without the rank; say which rank and what, then take the whole job down.
[[noreturn]] void terminate_handler() {
  std::string what = "std::terminate called";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what += " after an uncaught exception: " + std::string(ex.what());
    } catch (...) {
      what += " after an uncaught non-standard exception";
    }
  }
  std::cerr << ("error: rank " + std::to_string(g_terminate_rank) + ": " + what + "\n") << std::flush;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

}  // namespace

// ---------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------

struct Request::Impl {
  std::vector<MPI_Request> handles;
  const Comm* comm = nullptr;
  const char* call = "";
};

Request::Request() = default;
Request::Request(Request&&) noexcept = default;
// Completes a pending request without throwing (destructor, move-assignment).
// During unwinding the job is on its way to MPI_Abort (run_guarded); other ranks
// may never join this collective, so waiting then could hang: leave it.
void Request::settle() noexcept {
  if (done() || std::uncaught_exceptions() > 0) return;
  try {
    wait();
  } catch (const std::exception& e) {
    std::cerr << ("error: " + std::string(e.what()) + " (completing a request being replaced or destroyed)\n");
  }
}

Request& Request::operator=(Request&& other) noexcept {
  if (this != &other) {
    settle();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

Request::~Request() { settle(); }

bool Request::done() const { return !impl_ || impl_->handles.empty(); }

void Request::wait() {
  if (done()) return;
  std::vector<MPI_Status> status(impl_->handles.size());
  const int rc = MPI_Waitall(static_cast<int>(impl_->handles.size()), impl_->handles.data(), status.data());
  const Comm* comm = impl_->comm;
  const std::string call = std::string("MPI_Waitall on ") + impl_->call;
  impl_->handles.clear();
  if (rc == MPI_SUCCESS) return;
  int code = rc;
  if (rc == MPI_ERR_IN_STATUS)
    for (const MPI_Status& s : status)
      if (s.MPI_ERROR != MPI_SUCCESS) code = s.MPI_ERROR;
  comm->fail(call, code);
}

// ---------------------------------------------------------------------------
// Comm
// ---------------------------------------------------------------------------

Comm& Comm::world(int* argc, char*** argv) {
  static Comm comm(argc, argv);
  return comm;
}

Comm::Comm(int* argc, char*** argv) : max_count_(INT_MAX) {
  if (!launched_by_mpi()) return;
  int provided = 0;
  const int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  if (rc != MPI_SUCCESS)
    throw std::runtime_error("MPI_Init_thread failed (started by an MPI launcher, but MPI could not start)");
  mpi_ = true;
  // Errors come back as codes so that the message names the rank and the call;
  // run_guarded then aborts the whole job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (int e = MPI_Comm_rank(MPI_COMM_WORLD, &rank_); e != MPI_SUCCESS) fail("MPI_Comm_rank", e);
  if (int e = MPI_Comm_size(MPI_COMM_WORLD, &size_); e != MPI_SUCCESS) fail("MPI_Comm_size", e);
  g_terminate_rank = rank_;
  std::set_terminate(terminate_handler);
}

Comm::~Comm() { finalize(); }

void Comm::finalize() {
  if (mpi_ && !finalized_) {
    finalized_ = true;
    MPI_Finalize();
  }
}

void Comm::fail(const std::string& call, int rc) const {
  throw std::runtime_error("rank " + std::to_string(rank_) + ": " + call + " failed: " + error_text(rc));
}

void Comm::set_max_count(int n) {
  if (n < 1) throw std::invalid_argument("Comm::set_max_count: must be at least 1");
  max_count_ = n;
}

void Comm::barrier() {
  if (!mpi_) return;
  ++collectives_;
  if (int e = MPI_Barrier(MPI_COMM_WORLD); e != MPI_SUCCESS) fail("MPI_Barrier", e);
}

template <typename T> void Comm::allreduce(T* data, size_t n, int op) {
  if (!mpi_ || n == 0) return;
  for (size_t off = 0; off < n; off += static_cast<size_t>(max_count_)) {
    const int len = static_cast<int>(std::min<size_t>(n - off, static_cast<size_t>(max_count_)));
    ++collectives_;
    const int e = MPI_Allreduce(MPI_IN_PLACE, data + off, len, type_of<T>(), op_of(op), MPI_COMM_WORLD);
    if (e != MPI_SUCCESS) fail("MPI_Allreduce of " + std::to_string(len) + " elements", e);
  }
  bytes_sent_ += ring_allreduce_bytes(n * sizeof(T), size_);
}

void Comm::allreduce_sum(float* data, size_t n) { allreduce(data, n, kSum); }
void Comm::allreduce_sum(double* data, size_t n) { allreduce(data, n, kSum); }
void Comm::allreduce_sum(uint64_t* data, size_t n) { allreduce(data, n, kSum); }
void Comm::allreduce_max(double* data, size_t n) { allreduce(data, n, kMax); }
void Comm::allreduce_max(uint64_t* data, size_t n) { allreduce(data, n, kMax); }
void Comm::allreduce_min(uint64_t* data, size_t n) { allreduce(data, n, kMin); }

Request Comm::iallreduce_sum(float* data, size_t n) {
  Request req;
  if (!mpi_ || n == 0) return req;
  req.impl_ = std::make_unique<Request::Impl>();
  req.impl_->comm = this;
  req.impl_->call = "MPI_Iallreduce";
  for (size_t off = 0; off < n; off += static_cast<size_t>(max_count_)) {
    const int len = static_cast<int>(std::min<size_t>(n - off, static_cast<size_t>(max_count_)));
    MPI_Request h;
    ++collectives_;
    const int e = MPI_Iallreduce(MPI_IN_PLACE, data + off, len, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &h);
    if (e != MPI_SUCCESS) fail("MPI_Iallreduce of " + std::to_string(len) + " elements", e);
    req.impl_->handles.push_back(h);
  }
  bytes_sent_ += ring_allreduce_bytes(n * sizeof(float), size_);
  return req;
}

namespace {

// An allgatherv of `counts[r]` elements per rank into `out` (rank-major): one
// MPI_Allgatherv when every count and displacement fits an int; otherwise our block
// is copied into place and each rank broadcasts its block in slices (one MPI_Bcast
// per rank and slice). Non-blocking when `handles` is given (MPI_Iallgatherv /
// MPI_Ibcast, handles appended). Returns the MPI code of the first failing call
// (naming it in `call`) or MPI_SUCCESS.
template <typename T>
int run_allgatherv(const T* mine, const std::vector<uint64_t>& counts, T* out, int rank, int max_count,
                   uint64_t& collectives, std::vector<MPI_Request>* handles, const char*& call) {
  const size_t P = counts.size();
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total <= static_cast<uint64_t>(max_count)) {
    std::vector<int> cnt(P), displ(P);
    int at = 0;
    for (size_t r = 0; r < P; ++r) {
      cnt[r] = static_cast<int>(counts[r]);
      displ[r] = at;
      at += cnt[r];
    }
    ++collectives;
    const int me = cnt[static_cast<size_t>(rank)];
    if (!handles) {
      call = "MPI_Allgatherv";
      return MPI_Allgatherv(mine, me, type_of<T>(), out, cnt.data(), displ.data(), type_of<T>(), MPI_COMM_WORLD);
    }
    MPI_Request h;
    call = "MPI_Iallgatherv";
    const int e =
        MPI_Iallgatherv(mine, me, type_of<T>(), out, cnt.data(), displ.data(), type_of<T>(), MPI_COMM_WORLD, &h);
    if (e == MPI_SUCCESS) handles->push_back(h);
    return e;
  }
  call = handles ? "MPI_Ibcast (sliced allgatherv)" : "MPI_Bcast (sliced allgatherv)";
  uint64_t at = 0;
  for (size_t r = 0; r < P; ++r) {
    if (static_cast<int>(r) == rank && counts[r] > 0) std::memcpy(out + at, mine, counts[r] * sizeof(T));
    for (uint64_t off = 0; off < counts[r]; off += static_cast<uint64_t>(max_count)) {
      const int len = static_cast<int>(std::min<uint64_t>(counts[r] - off, static_cast<uint64_t>(max_count)));
      ++collectives;
      T* where = out + at + off;
      if (!handles) {
        if (int e = MPI_Bcast(where, len, type_of<T>(), static_cast<int>(r), MPI_COMM_WORLD); e != MPI_SUCCESS)
          return e;
        continue;
      }
      MPI_Request h;
      const int e = MPI_Ibcast(where, len, type_of<T>(), static_cast<int>(r), MPI_COMM_WORLD, &h);
      if (e != MPI_SUCCESS) return e;
      handles->push_back(h);
    }
    at += counts[r];
  }
  return MPI_SUCCESS;
}

}  // namespace

Request Comm::iallgatherv(const uint32_t* mine, const std::vector<uint64_t>& counts, uint32_t* out) {
  Request req;
  if (counts.size() != static_cast<size_t>(size_))
    throw std::invalid_argument("rank " + std::to_string(rank_) + ": Comm::iallgatherv needs one count per rank");
  if (!mpi_) {
    if (counts[0] > 0) std::memcpy(out, mine, counts[0] * sizeof(uint32_t));
    return req;
  }
  req.impl_ = std::make_unique<Request::Impl>();
  req.impl_->comm = this;
  if (int e = run_allgatherv(mine, counts, out, rank_, max_count_, collectives_, &req.impl_->handles, req.impl_->call);
      e != MPI_SUCCESS)
    fail(req.impl_->call, e);
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  bytes_sent_ += (total - counts[static_cast<size_t>((rank_ + 1) % size_)]) * sizeof(uint32_t);
  return req;
}

template <typename T> void Comm::gather_into(const T* mine, const std::vector<uint64_t>& counts, T* out) {
  if (counts.size() != static_cast<size_t>(size_))
    throw std::invalid_argument("rank " + std::to_string(rank_) + ": allgatherv needs one count per rank");
  if (!mpi_) {
    if (counts[0] > 0) std::memcpy(out, mine, counts[0] * sizeof(T));
    return;
  }
  const char* call = "";
  if (int e = run_allgatherv(mine, counts, out, rank_, max_count_, collectives_, nullptr, call); e != MPI_SUCCESS)
    fail(call, e);
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  bytes_sent_ += (total - counts[static_cast<size_t>((rank_ + 1) % size_)]) * sizeof(T);
}

void Comm::allgatherv(const uint32_t* mine, const std::vector<uint64_t>& counts, uint32_t* out) {
  gather_into(mine, counts, out);
}

template <typename T> std::vector<T> Comm::gather_vector(const std::vector<T>& local) {
  if (!mpi_) return local;
  const uint64_t n = local.size();
  const std::vector<uint64_t> counts = allgather(&n, 1);
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  std::vector<T> out(total);
  gather_into(local.data(), counts, out.data());
  return out;
}

std::vector<uint64_t> Comm::allgather(const uint64_t* mine, size_t k) {
  if (!mpi_) return std::vector<uint64_t>(mine, mine + k);
  std::vector<uint64_t> out(k * static_cast<size_t>(size_));
  if (k > static_cast<size_t>(max_count_) / static_cast<size_t>(size_)) {
    // The receive count would overflow an int: the sliced allgatherv path.
    gather_into(mine, std::vector<uint64_t>(static_cast<size_t>(size_), k), out.data());
    return out;
  }
  ++collectives_;
  const int e = MPI_Allgather(mine, static_cast<int>(k), MPI_UINT64_T, out.data(), static_cast<int>(k), MPI_UINT64_T,
                              MPI_COMM_WORLD);
  if (e != MPI_SUCCESS) fail("MPI_Allgather", e);
  bytes_sent_ += (size_ - 1) * k * sizeof(uint64_t);  // ring: every block but the next rank's
  return out;
}

std::vector<uint64_t> Comm::node_allgather(const uint64_t* mine, size_t k, size_t& my_index) {
  my_index = 0;
  if (!mpi_) return std::vector<uint64_t>(mine, mine + k);
  MPI_Comm node = MPI_COMM_NULL;
  if (int e = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node); e != MPI_SUCCESS)
    fail("MPI_Comm_split_type", e);
  int node_size = 1, node_rank = 0;
  if (int e = MPI_Comm_size(node, &node_size); e != MPI_SUCCESS) fail("MPI_Comm_size (node)", e);
  if (int e = MPI_Comm_rank(node, &node_rank); e != MPI_SUCCESS) fail("MPI_Comm_rank (node)", e);
  my_index = static_cast<size_t>(node_rank);
  std::vector<uint64_t> out(k * static_cast<size_t>(node_size));
  ++collectives_;
  const int e =
      MPI_Allgather(mine, static_cast<int>(k), MPI_UINT64_T, out.data(), static_cast<int>(k), MPI_UINT64_T, node);
  MPI_Comm_free(&node);
  if (e != MPI_SUCCESS) fail("MPI_Allgather (node)", e);
  return out;
}

std::vector<float> Comm::allgatherv(const std::vector<float>& local) { return gather_vector(local); }
std::vector<uint32_t> Comm::allgatherv(const std::vector<uint32_t>& local) { return gather_vector(local); }
std::vector<uint64_t> Comm::allgatherv(const std::vector<uint64_t>& local) { return gather_vector(local); }

std::vector<uint64_t> Comm::alltoall(const uint64_t* mine, size_t k) {
  if (!mpi_) return std::vector<uint64_t>(mine, mine + k);
  if (k > static_cast<size_t>(max_count_) / static_cast<size_t>(size_))
    throw std::invalid_argument("rank " + std::to_string(rank_) + ": Comm::alltoall of " + std::to_string(k) +
                                " values per rank does not fit one MPI call");
  std::vector<uint64_t> out(k * static_cast<size_t>(size_));
  ++collectives_;
  const int e = MPI_Alltoall(mine, static_cast<int>(k), MPI_UINT64_T, out.data(), static_cast<int>(k), MPI_UINT64_T,
                             MPI_COMM_WORLD);
  if (e != MPI_SUCCESS) fail("MPI_Alltoall", e);
  bytes_sent_ += (size_ - 1) * k * sizeof(uint64_t);
  return out;
}

namespace {
// Offsets of consecutive blocks of `counts` words; false when one does not fit an int.
bool int_layout(const std::vector<uint64_t>& counts, int max_count, std::vector<int>& cnt, std::vector<int>& displ) {
  cnt.resize(counts.size());
  displ.resize(counts.size());
  uint64_t at = 0;
  for (size_t r = 0; r < counts.size(); ++r) {
    if (counts[r] > static_cast<uint64_t>(max_count) || at > static_cast<uint64_t>(max_count)) return false;
    cnt[r] = static_cast<int>(counts[r]);
    displ[r] = static_cast<int>(at);
    at += counts[r];
  }
  return true;
}
}  // namespace

void Comm::alltoallv(const uint32_t* send, const std::vector<uint64_t>& send_counts, uint32_t* recv,
                     const std::vector<uint64_t>& recv_counts) {
  alltoallv_of(send, send_counts, recv, recv_counts);
}

void Comm::alltoallv_bytes(const void* send, const std::vector<uint64_t>& send_counts, void* recv,
                           const std::vector<uint64_t>& recv_counts) {
  alltoallv_of(static_cast<const unsigned char*>(send), send_counts, static_cast<unsigned char*>(recv), recv_counts);
}

template <typename T>
void Comm::alltoallv_of(const T* send, const std::vector<uint64_t>& send_counts, T* recv,
                        const std::vector<uint64_t>& recv_counts) {
  const size_t P = static_cast<size_t>(size_), me = static_cast<size_t>(rank_);
  if (send_counts.size() != P || recv_counts.size() != P)
    throw std::invalid_argument("rank " + std::to_string(rank_) + ": Comm::alltoallv needs one count per rank");
  for (size_t r = 0; r < P; ++r)
    if (r != me) bytes_sent_ += send_counts[r] * sizeof(T);
  if (!mpi_) {
    if (send_counts[0] != recv_counts[0])
      throw std::logic_error("Comm::alltoallv: a serial exchange must receive what it sends");
    if (send_counts[0] > 0) std::memcpy(recv, send, send_counts[0] * sizeof(T));
    return;
  }
  std::vector<int> scnt, sdis, rcnt, rdis;
  // Every rank would have to agree on a sliced fallback, which takes another collective;
  // the callers' blocks are far below the limit (a step's rows, 64 MiB checkpoint windows).
  // A rank over it stops the job with this message (run_guarded aborts every rank).
  if (!int_layout(send_counts, max_count_, scnt, sdis) || !int_layout(recv_counts, max_count_, rcnt, rdis))
    throw std::length_error("rank " + std::to_string(rank_) + ": Comm::alltoallv: a block or offset exceeds " +
                            std::to_string(max_count_) + " elements (MPI counts are int)");
  ++collectives_;
  const int e = MPI_Alltoallv(send, scnt.data(), sdis.data(), type_of<T>(), recv, rcnt.data(), rdis.data(),
                              type_of<T>(), MPI_COMM_WORLD);
  if (e != MPI_SUCCESS) fail("MPI_Alltoallv", e);
}

void Comm::broadcast(std::string& value, int root) {
  if (!mpi_) return;
  uint64_t n = value.size();
  ++collectives_;
  if (int e = MPI_Bcast(&n, 1, MPI_UINT64_T, root, MPI_COMM_WORLD); e != MPI_SUCCESS) fail("MPI_Bcast", e);
  value.resize(n);
  bcast_slices(value.data(), n, root);
  bytes_sent_ += ring_broadcast_bytes(n + sizeof(uint64_t), size_);
}

void Comm::bcast_slices(char* data, uint64_t bytes, int root) {
  for (uint64_t off = 0; off < bytes; off += static_cast<uint64_t>(max_count_)) {
    const int len = static_cast<int>(std::min<uint64_t>(bytes - off, static_cast<uint64_t>(max_count_)));
    ++collectives_;
    if (int e = MPI_Bcast(data + off, len, MPI_CHAR, root, MPI_COMM_WORLD); e != MPI_SUCCESS)
      fail("MPI_Bcast of " + std::to_string(len) + " bytes", e);
  }
}

void Comm::broadcast_bytes(void* data, uint64_t bytes, int root) {
  if (!mpi_) return;
  // One small allgather of every rank's size: all ranks fail together or go on together.
  const std::vector<uint64_t> sizes = allgather(&bytes, 1);
  for (int r = 0; r < size_; ++r)
    if (sizes[static_cast<size_t>(r)] != sizes[static_cast<size_t>(root)])
      throw std::runtime_error("rank " + std::to_string(rank_) + ": broadcast of " +
                               std::to_string(sizes[static_cast<size_t>(root)]) + " bytes from rank " +
                               std::to_string(root) + ", but rank " + std::to_string(r) + " expected " +
                               std::to_string(sizes[static_cast<size_t>(r)]));
  bcast_slices(static_cast<char*>(data), bytes, root);
  bytes_sent_ += ring_broadcast_bytes(bytes, size_);
}

void Comm::abort(const std::string& message, int code) {
  // One write per line: several ranks may fail at once, and stderr is shared.
  const std::string line =
      "error: " + (size_ > 1 ? "rank " + std::to_string(rank_) + ": " : std::string()) + message + "\n";
  std::cerr << line << std::flush;
#ifdef SPARSETRAIN_COVERAGE
  __gcov_dump();  // neither MPI_Abort nor _Exit runs gcov's exit handler (scripts/coverage.sh)
#endif
  if (mpi_ && !finalized_) MPI_Abort(MPI_COMM_WORLD, code);
  // Not exit(): libraries' exit handlers run on whatever state the failure left, and
  // HDF5's, closing a file whose close had already failed on a full disk, segfaulted
  // (exit status 139 instead of 1). Flush what was printed, then leave.
  std::cout.flush();
  std::fflush(nullptr);
  std::_Exit(code);
}

int run_guarded(Comm& comm, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    comm.abort(e.what(), 1);
  } catch (...) {
    comm.abort("unknown (non-standard) exception", 1);
  }
}

}  // namespace sparsetrain::collective
