#pragma once
// How much memory this process may still allocate before the kernel refuses (RLIMIT_AS)
// or kills it (a cgroup's memory.max, or the machine running out).
#include <cstdint>
#include <string>

namespace sparsetrain::util {

struct MemoryLimit {
  double bytes = 0;    // the tightest of the limits below
  std::string source;  // which one, for messages: "cgroup memory.max", "RLIMIT_AS (ulimit -v)", "MemAvailable"
};

// The smallest of: RLIMIT_AS minus this process's address space; each enclosing cgroup's
// memory limit minus its usage (v2 memory.max / v1 memory.limit_in_bytes); the machine's
// MemAvailable. `sharers`: processes of this job on this node, who split the cgroup's and
// the machine's memory (not RLIMIT_AS, which is per process).
MemoryLimit available_memory(int sharers = 1);

}  // namespace sparsetrain::util
