#pragma once
// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID): what a phase of a step cost
// this rank, without the time it spent descheduled while oversubscribed peers ran; and
// wall time (CLOCK_MONOTONIC), for the time spent inside collectives.
//
// Both read clock_gettime, which SimGrid's SMPI redirects to the simulated clock when a
// file is compiled with smpicxx (tests/bench/smpi): the simulation driver then gets the
// simulated seconds of the same phases from the same counters.
#include <time.h>

namespace sparsetrain::util {

inline double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

inline double wall_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace sparsetrain::util
