#include "sparsetrain/data/row_estimate.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <vector>

#include "sparsetrain/data/line_source.h"

namespace sparsetrain::data {

namespace {

RowEstimate scaled(uint64_t lines, uint64_t file_bytes, uint64_t read_bytes) {
  const double rows = static_cast<double>(lines) * static_cast<double>(file_bytes) / static_cast<double>(read_bytes);
  return {static_cast<uint64_t>(std::llround(rows)), false};
}

// A plain file: reads at most sample_bytes; its line count when that reached the end, else
// the count scaled by the file's size over the bytes read.
RowEstimate estimate_plain(const InputFile& file, size_t index, uint64_t sample_bytes) {
  ShardPiece whole;
  whole.file = index;
  whole.end = file.size;
  LineSource source(file, whole, size_t{64} << 10);
  const char* line = nullptr;
  size_t len = 0;
  uint64_t lines = 0;
  while (source.next(line, len) != LineSource::Status::End) {
    ++lines;
    if (source.next_offset() >= sample_bytes && source.next_offset() < file.size)
      return scaled(lines, file.size, source.next_offset());
  }
  return {lines, true};
}

class Fd {
 public:
  explicit Fd(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw DataError("cannot open input '" + path + "': " + std::strerror(errno));
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// A gzip file (one member or several, as `cat a.gz b.gz` makes): inflates its head here, 16 KiB
// of compressed input at a time, and counts the newlines of every byte that input gave. So the
// count belongs to exactly the compressed bytes consumed; zlib's gzread (LineSource) holds up to
// 512 KiB of output ahead of the lines it hands out, which made this estimate several % low.
RowEstimate estimate_gzip(const InputFile& file, size_t index, uint64_t sample_bytes) {
  Fd fd(file.path);
  unsigned char magic[2] = {0, 0};
  if (::pread(fd.get(), magic, 2, 0) != 2 || magic[0] != 0x1f || magic[1] != 0x8b)
    return estimate_plain(file, index, sample_bytes);  // gzread reads a file without the magic as it is
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw DataError("zlib: cannot start inflating '" + file.path + "'");
  std::vector<unsigned char> in(16 << 10), out(64 << 10);
  uint64_t lines = 0, produced = 0, consumed = 0;
  unsigned char last = '\n';
  int rc = Z_OK;
  for (;;) {
    const ssize_t got = ::read(fd.get(), in.data(), in.size());
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // end of file (a read error: the reader reports it)
    zs.next_in = in.data();
    zs.avail_in = static_cast<uInt>(got);
    while (zs.avail_in > 0) {
      const bool next_member = rc == Z_STREAM_END;
      if (next_member) inflateReset(&zs);
      zs.next_out = out.data();
      zs.avail_out = static_cast<uInt>(out.size());
      const uInt avail_before = zs.avail_in;
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc == Z_DATA_ERROR && next_member) {  // bytes after the last member: gzread ignores them too
        rc = Z_STREAM_END;
        zs.avail_in = 0;
        break;
      }
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        inflateEnd(&zs);
        throw DataError("corrupt gzip input '" + file.path + "': " + (zs.msg ? zs.msg : "zlib error"));
      }
      const size_t n = out.size() - zs.avail_out;
      lines += static_cast<uint64_t>(std::count(out.data(), out.data() + n, '\n'));
      if (n > 0) last = out[n - 1];
      produced += n;
      if (n == 0 && zs.avail_in == avail_before) break;  // no progress: leave it to the reader
    }
    consumed += static_cast<uint64_t>(got);
    if (produced >= sample_bytes && consumed < file.size) {
      inflateEnd(&zs);
      return scaled(lines, file.size, consumed);
    }
  }
  inflateEnd(&zs);
  // A last line without a newline counts, as the reader reads it; in a member cut short
  // (no end marker) the reader drops it.
  return {lines + (last != '\n' && rc == Z_STREAM_END ? 1 : 0), true};
}

}  // namespace

RowEstimate estimate_rows(const std::vector<InputFile>& files, uint64_t sample_bytes) {
  RowEstimate total;
  for (size_t i = 0; i < files.size(); ++i) {
    const RowEstimate one =
        files[i].gzip ? estimate_gzip(files[i], i, sample_bytes) : estimate_plain(files[i], i, sample_bytes);
    total.rows += one.rows;
    total.exact = total.exact && one.exact;
  }
  return total;
}

}  // namespace sparsetrain::data
