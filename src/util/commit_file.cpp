#include "sparsetrain/util/commit_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace sparsetrain::util {
namespace {

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open '" + path + "' to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0 && !directory) throw std::runtime_error("fsync of '" + path + "' failed: " + std::strerror(errno));
}

}  // namespace

void commit_file(const std::string& tmp_path, const std::string& final_path) {
  fsync_path(tmp_path, false);
  if (std::rename(tmp_path.c_str(), final_path.c_str()) != 0)
    throw std::runtime_error("cannot rename '" + tmp_path + "' to '" + final_path + "': " + std::strerror(errno));
  auto dir = std::filesystem::path(final_path).parent_path();
  fsync_path(dir.empty() ? "." : dir.string(), true);
}

}  // namespace sparsetrain::util
