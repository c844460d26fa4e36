#include "sparsetrain/data/shard.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>

namespace sparsetrain::data {
namespace {

bool has_glob_chars(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

// What a non-regular input is, for the message that refuses it.
const char* kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a pipe or FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

// gzip by its magic bytes (1f 8b), whatever the name says: a gzip file without ".gz" must
// not be parsed as text, and a ".gz" name holding plain text reads as plain text.
bool starts_with_gzip_magic(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw DataError("cannot open input '" + path + "': " + std::strerror(errno));
  unsigned char magic[2] = {0, 0};
  ssize_t got;
  do {
    got = ::pread(fd, magic, 2, 0);
  } while (got < 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  if (got < 0) throw DataError("cannot read input '" + path + "': " + std::strerror(err));
  return got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

InputFile stat_input(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw DataError("cannot open input '" + path + "': " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) throw DataError("input '" + path + "' is a directory, not a file");
  // Ranks read their shard by byte ranges and resume by offset: a stream has neither a size
  // nor offsets, and stat() calls a pipe empty. Refuse it (before open(), which would block
  // on a FIFO without a writer) rather than read it as nothing.
  if (!S_ISREG(st.st_mode))
    throw DataError("input '" + path + "' is " + kind_of(st.st_mode) +
                    "; sparsetrain reads regular files only (each rank reads its byte range of them): save the "
                    "stream to a file first, e.g. 'cat > rows.tsv', and pass that file");
  if (::access(path.c_str(), R_OK) != 0) {
    throw DataError("cannot read input '" + path + "': " + std::strerror(errno));
  }
  InputFile f;
  f.path = path;
  f.size = static_cast<uint64_t>(st.st_size);
  f.gzip = starts_with_gzip_magic(path);
  return f;
}

}  // namespace

std::vector<InputFile> expand_inputs(const std::string& patterns) {
  std::vector<InputFile> files;
  size_t start = 0;
  while (start <= patterns.size()) {
    size_t comma = patterns.find(',', start);
    if (comma == std::string::npos) comma = patterns.size();
    std::string item = patterns.substr(start, comma - start);
    start = comma + 1;
    // Trim blanks so "a.tsv, b.tsv" works.
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) continue;
    if (!has_glob_chars(item)) {
      files.push_back(stat_input(item));
      continue;
    }
    glob_t g{};
    const int rc = ::glob(item.c_str(), 0, nullptr, &g);
    if (rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0)) {
      globfree(&g);
      throw DataError("input pattern '" + item + "' matches no file");
    }
    if (rc != 0) {
      globfree(&g);
      throw DataError("cannot expand input pattern '" + item + "'");
    }
    try {
      for (size_t i = 0; i < g.gl_pathc; ++i) files.push_back(stat_input(g.gl_pathv[i]));
    } catch (...) {  // e.g. a match that is a directory: the error, without leaking the list
      globfree(&g);
      throw;
    }
    globfree(&g);
  }
  if (files.empty()) throw DataError("no input files given");
  return files;
}

std::vector<ShardPiece> plan_shard(const std::vector<InputFile>& files, int rank, int nranks) {
  if (nranks < 1 || rank < 0 || rank >= nranks) throw std::invalid_argument("bad rank/nranks");
  std::vector<ShardPiece> pieces;
  const size_t n = static_cast<size_t>(nranks);
  if (files.size() >= n) {
    // Whole files, largest first to the least-loaded rank (ties: lower rank), so
    // every rank computes the same plan independently.
    std::vector<size_t> order(files.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return files[a].size > files[b].size; });
    std::vector<uint64_t> load(n, 0);
    std::vector<int> owner(files.size(), 0);
    for (size_t f : order) {
      const size_t r = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
      owner[f] = static_cast<int>(r);
      load[r] += std::max<uint64_t>(files[f].size, 1);
    }
    for (size_t f = 0; f < files.size(); ++f)
      if (owner[f] == rank) pieces.push_back({f, 0, files[f].size, 1, 0});
    return pieces;
  }
  for (size_t f = 0; f < files.size(); ++f) {
    if (files[f].gzip) {
      pieces.push_back({f, 0, files[f].size, static_cast<uint32_t>(n), static_cast<uint32_t>(rank)});
    } else {
      const uint64_t size = files[f].size;
      const uint64_t b = static_cast<uint64_t>((static_cast<unsigned __int128>(size) * rank) / n);
      const uint64_t e = static_cast<uint64_t>((static_cast<unsigned __int128>(size) * (rank + 1)) / n);
      pieces.push_back({f, b, e, 1, 0});
    }
  }
  return pieces;
}

}  // namespace sparsetrain::data
