#pragma once
// A fresh directory for one test: mkdtemp picks a name that no other process holds, so
// tests running at the same time (ctest -j, the np2 and np3 runs of one MPI test, two CI
// jobs on one machine) never write into each other's files. Under $TMPDIR, else /tmp.
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace sparsetrain::testing {

inline std::filesystem::path make_temp_dir(const std::string& prefix) {
  std::string name = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (!::mkdtemp(name.data())) throw std::runtime_error("cannot create a temporary directory " + name);
  return name;
}

// A make_temp_dir directory removed with everything in it when the test ends, even where
// the test took its permissions away (an unreadable input file or directory).
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "st_test_") : path(make_temp_dir(prefix)) {}
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

}  // namespace sparsetrain::testing
