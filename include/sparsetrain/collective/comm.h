#pragma once
// Everything MPI lives in the collective module; nothing else in the project includes
// <mpi.h>. A Comm is either a real MPI world (launched by mpirun/srun) or a serial
// stand-in of size 1 when the process was started on its own, so the one binary
// runs the same code path in both cases and the serial case needs no MPI runtime.
//
// Sizes are 64-bit everywhere in this API. MPI counts and displacements are int, so
// a buffer of more than max_count() elements is split into several collectives
// (allreduce: consecutive slices; allgatherv: one broadcast per rank and slice).
//
// Bytes on the wire (bytes_sent) follow the bandwidth-optimal ring algorithms that
// Open MPI's tuned component uses for large messages: allreduce of n bytes sends
// 2(P-1)/P * n per rank, allgatherv sends everything but the next rank's block,
// broadcast sends (P-1)/P * n per rank on average; alltoall(v) sends exactly the words
// addressed to other ranks. For P = 2 this is exact for every
// algorithm (each rank must send its half / its block once); for P > 2 it is the
// lower bound the tree/recursive-doubling variants for small messages exceed.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sparsetrain::collective {

class Comm;

// A non-blocking collective in flight. The buffers given when it was started must
// stay alive and untouched until wait() returns. The destructor waits (so buffers
// are never freed under MPI) unless the stack unwinds from an exception: then the
// job is about to be aborted and waiting could hang on ranks that never joined.
class Request {
 public:
  Request();
  Request(Request&&) noexcept;
  Request& operator=(Request&&) noexcept;
  ~Request();
  void wait();        // throws std::runtime_error naming rank and MPI call on failure
  bool done() const;  // nothing left to wait for

 private:
  friend class Comm;
  void settle() noexcept;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Comm {
 public:
  // Initialises MPI when the environment says we were launched as part of an MPI
  // job (Open MPI, PMI or PMIx variables); otherwise a serial Comm. MPI errors
  // return codes (MPI_ERRORS_RETURN) that become exceptions naming rank and call.
  static Comm& world(int* argc = nullptr, char*** argv = nullptr);
  ~Comm();
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  bool uses_mpi() const { return mpi_; }

  void barrier();
  // In-place sums / max / min over all ranks.
  void allreduce_sum(float* data, size_t n);
  void allreduce_sum(double* data, size_t n);
  void allreduce_sum(uint64_t* data, size_t n);
  void allreduce_max(double* data, size_t n);
  void allreduce_max(uint64_t* data, size_t n);
  void allreduce_min(uint64_t* data, size_t n);
  double sum(double v) {
    allreduce_sum(&v, 1);
    return v;
  }
  uint64_t sum(uint64_t v) {
    allreduce_sum(&v, 1);
    return v;
  }
  double max(double v) {
    allreduce_max(&v, 1);
    return v;
  }
  // Non-blocking in-place float sum (same slicing as allreduce_sum).
  Request iallreduce_sum(float* data, size_t n);

  // Every rank's k values, rank-major (P*k values), on every rank.
  std::vector<uint64_t> allgather(const uint64_t* mine, size_t k);
  // The same among the ranks of this rank's node only (MPI_COMM_TYPE_SHARED: they share
  // its cores): k values per node rank, in node-rank order; `my_index` gets this rank's
  // position. Without MPI: this rank's own k values, index 0. Collective over all ranks.
  std::vector<uint64_t> node_allgather(const uint64_t* mine, size_t k, size_t& my_index);
  // Concatenation of every rank's vector, in rank order, on every rank.
  std::vector<float> allgatherv(const std::vector<float>& local);
  std::vector<uint32_t> allgatherv(const std::vector<uint32_t>& local);
  std::vector<uint64_t> allgatherv(const std::vector<uint64_t>& local);
  // Allgatherv of 32-bit words when every rank already knows every rank's count
  // (counts[r] words from rank r land at offset sum(counts[0..r)) of `out`, which
  // must hold sum(counts) words). One collective instead of two.
  void allgatherv(const uint32_t* mine, const std::vector<uint64_t>& counts, uint32_t* out);
  // The same, non-blocking.
  Request iallgatherv(const uint32_t* mine, const std::vector<uint64_t>& counts, uint32_t* out);
  // Personalised exchange (the sharded table's rounds). alltoall: mine[r*k .. r*k+k) goes
  // to rank r; returns the k values each rank sent this one, rank-major.
  std::vector<uint64_t> alltoall(const uint64_t* mine, size_t k);
  // send_counts[r] 32-bit words (consecutive in `send`, rank order) go to rank r;
  // recv_counts[r] words from rank r land consecutively in `recv`, rank order. The
  // counts must agree with the peers' (recv_counts[r] = rank r's send_counts[me]).
  // One MPI_Alltoallv: every block and offset must fit max_count() (else an error that
  // stops the job; a fallback would need every rank's agreement, i.e. another collective).
  void alltoallv(const uint32_t* send, const std::vector<uint64_t>& send_counts, uint32_t* recv,
                 const std::vector<uint64_t>& recv_counts);
  // The same with counts in bytes.
  void alltoallv_bytes(const void* send, const std::vector<uint64_t>& send_counts, void* recv,
                       const std::vector<uint64_t>& recv_counts);
  void broadcast(std::string& value, int root = 0);
  // Root's `bytes` bytes at `data` into every rank's `data`, in place (large arrays: no
  // staging copy). Every rank must pass the same size; a rank that does not gets an
  // error naming both sizes (after one small collective), never a hang.
  void broadcast_bytes(void* data, uint64_t bytes, int root = 0);

  // Ends the whole job now with this rank's message (MPI_Abort on a real world).
  [[noreturn]] void abort(const std::string& message, int code = 1);

  // Bytes this rank has put on the wire (model above) and collectives started.
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t collectives() const { return collectives_; }

  // Largest element count passed to one MPI call (INT_MAX). Tests lower it to run
  // the slicing paths with small buffers; every rank must use the same value.
  int max_count() const { return max_count_; }
  void set_max_count(int n);

  void finalize();

 private:
  Comm(int* argc, char*** argv);
  template <typename T> void allreduce(T* data, size_t n, int op);
  template <typename T>
  void alltoallv_of(const T* send, const std::vector<uint64_t>& send_counts, T* recv,
                    const std::vector<uint64_t>& recv_counts);
  // MPI_Bcast of `bytes` bytes in slices of at most max_count() (MPI counts are int).
  void bcast_slices(char* data, uint64_t bytes, int root);
  template <typename T> void gather_into(const T* mine, const std::vector<uint64_t>& counts, T* out);
  template <typename T> std::vector<T> gather_vector(const std::vector<T>& local);
  [[noreturn]] void fail(const std::string& call, int rc) const;
  friend class Request;

  bool mpi_ = false;
  bool finalized_ = false;
  int rank_ = 0, size_ = 1;
  int max_count_;
  uint64_t bytes_sent_ = 0, collectives_ = 0;
};

// Runs `body` and turns any exception on any rank into one clear message prefixed
// with the rank, followed by an abort of the whole job (no rank left hanging in a
// collective). Returns body's exit code.
int run_guarded(Comm& comm, const std::function<int()>& body);

}  // namespace sparsetrain::collective
