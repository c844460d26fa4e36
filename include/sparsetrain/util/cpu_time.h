#pragma once
// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID): what a phase of a step cost
// this rank, without the time it spent descheduled while oversubscribed peers ran.
#include <time.h>

namespace sparsetrain::util {

inline double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace sparsetrain::util
