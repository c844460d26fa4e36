#pragma once
// main() of a GoogleTest program run under mpirun (tests/<module>/*_mpitest.cpp): rank 0
// prints the usual progress, the other ranks only their failed assertions with the rank,
// and every rank exits with the same status (a failure on any rank fails the program).
#include <gtest/gtest.h>

#include <cstdint>
#include <iostream>
#include <string>

#include "sparsetrain/collective/comm.h"

namespace sparsetrain::testing {

class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed())
      std::cerr << "[rank " << rank_ << "] " << (r.file_name() ? r.file_name() : "?") << ":" << r.line_number() << ": "
                << r.summary() << std::endl;
  }

 private:
  int rank_;
};

inline int run_mpi_tests(int argc, char** argv, const std::string& name) {
  collective::Comm& comm = collective::Comm::world(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (!comm.uses_mpi()) {
    std::cerr << name << ": run me under mpirun (-np 2 or more)\n";
    return 1;
  }
  if (!comm.is_root()) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(comm.rank()));
  }
  uint64_t failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  comm.allreduce_max(&failed, 1);
  if (failed && comm.is_root()) std::cerr << name << ": a test failed on at least one rank\n";
  comm.finalize();
  return failed ? 1 : 0;
}

}  // namespace sparsetrain::testing
