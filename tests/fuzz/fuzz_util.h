#pragma once
// Helpers shared by the libFuzzer targets in tests/fuzz (built with -DSPARSETRAIN_FUZZ=ON;
// scripts/fuzz.sh runs them).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace sparsetrain::fuzz {

// A property the code under test must keep; a violation is a crash libFuzzer reports
// (with the input that caused it), like a sanitizer error.
#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

// An anonymous in-memory file (memfd) reachable through a path, /proc/self/fd/N, so code
// that only opens paths reads the fuzzer's bytes without touching a disk. One per process,
// rewritten for every input.
class MemFile {
 public:
  explicit MemFile(const char* name) {
    fd_ = ::memfd_create(name, MFD_CLOEXEC);
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  // Replaces the contents with data[0, size).
  void write(const void* data, size_t size) {
    if (::ftruncate(fd_, 0) != 0) std::abort();
    const auto* p = static_cast<const char*>(data);
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pwrite(fd_, p + done, size - done, static_cast<off_t>(done));
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
  }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace sparsetrain::fuzz
