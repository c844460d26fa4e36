#pragma once
// Everything MPI lives in the dist module; nothing else in the project includes
// <mpi.h>. A Comm is either a real MPI world (launched by mpirun/srun) or a serial
// stand-in of size 1 when the process was started on its own, so the one binary
// runs the same code path in both cases and the serial case needs no MPI runtime.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sparsetrain::dist {

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
  // In-place sums / max over all ranks.
  void allreduce_sum(float* data, size_t n);
  void allreduce_sum(double* data, size_t n);
  void allreduce_sum(uint64_t* data, size_t n);
  void allreduce_max(double* data, size_t n);
  void allreduce_min(uint64_t* data, size_t n);
  double sum(double v) { allreduce_sum(&v, 1); return v; }
  uint64_t sum(uint64_t v) { allreduce_sum(&v, 1); return v; }
  double max(double v) { allreduce_max(&v, 1); return v; }
  // Concatenation of every rank's vector, in rank order, on every rank.
  std::vector<float> allgatherv(const std::vector<float>& local);
  std::vector<uint32_t> allgatherv(const std::vector<uint32_t>& local);
  std::vector<uint64_t> allgatherv(const std::vector<uint64_t>& local);
  void broadcast(std::string& value, int root = 0);

  // Ends the whole job now with this rank's message (MPI_Abort on a real world).
  [[noreturn]] void abort(const std::string& message, int code = 1);

  // Bytes this rank has sent through collectives (for metrics).
  uint64_t bytes_sent() const { return bytes_sent_; }

  void finalize();

 private:
  Comm(int* argc, char*** argv);
  bool mpi_ = false;
  bool finalized_ = false;
  int rank_ = 0, size_ = 1;
  uint64_t bytes_sent_ = 0;
};

// Runs `body` and turns any exception on any rank into one clear message prefixed
// with the rank, followed by an abort of the whole job (no rank left hanging in a
// collective). Returns body's exit code.
int run_guarded(Comm& comm, const std::function<int()>& body);

}  // namespace sparsetrain::dist
