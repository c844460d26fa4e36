#include "sparsetrain/util/memory_limit.h"

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

namespace sparsetrain::util {
namespace {

constexpr double kUnlimited = std::numeric_limits<double>::infinity();

// The first number after `key` in a "key: value kB" file (/proc/meminfo, /proc/self/status).
double kib_field(const std::string& file, const std::string& key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return 1024.0 * std::stod(line.substr(key.size()));
  return kUnlimited;
}

// A cgroup file holding one number ("max" = no limit); infinity when absent.
double cgroup_number(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string word;
  if (!(in >> word) || word == "max") return kUnlimited;
  try {
    const double v = std::stod(word);
    return v >= 9.2e18 ? kUnlimited : v;  // v1 writes ~2^63 for "no limit"
  } catch (const std::exception&) {
    return kUnlimited;
  }
}

// The least headroom (limit - usage) over this process's cgroup and its ancestors.
double cgroup_headroom() {
  std::ifstream in("/proc/self/cgroup");
  double best = kUnlimited;
  for (std::string line; std::getline(in, line);) {
    // v2: "0::/path"; v1: "N:memory:/path" (or "N:cpu,memory:/path").
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const bool v2 = controllers.empty();
    if (!v2 && ("," + controllers + ",").find(",memory,") == std::string::npos) continue;
    const std::filesystem::path root = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
    const char* limit = v2 ? "memory.max" : "memory.limit_in_bytes";
    const char* usage = v2 ? "memory.current" : "memory.usage_in_bytes";
    for (std::filesystem::path p = root / line.substr(b + 2);; p = p.parent_path()) {
      const double max = cgroup_number(p / limit);
      if (max != kUnlimited) best = std::min(best, max - cgroup_number(p / usage));
      if (p == root || p.string().size() <= root.string().size()) break;
    }
  }
  return best;
}

}  // namespace

MemoryLimit available_memory(int sharers) {
  const double share = sharers > 1 ? static_cast<double>(sharers) : 1.0;
  MemoryLimit m{kib_field("/proc/meminfo", "MemAvailable:") / share, "MemAvailable"};
  if (const double c = cgroup_headroom() / share; c < m.bytes) m = {c, "cgroup memory limit"};
  rlimit lim{};
  if (getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    const double as = static_cast<double>(lim.rlim_cur) - kib_field("/proc/self/status", "VmSize:");
    if (as < m.bytes) m = {as, "RLIMIT_AS (ulimit -v)"};
  }
  if (sharers > 1 && m.source != "RLIMIT_AS (ulimit -v)")
    m.source += " shared by " + std::to_string(sharers) + " ranks on this node";
  return m;
}

}  // namespace sparsetrain::util
