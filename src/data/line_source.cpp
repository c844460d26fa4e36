#include "sparsetrain/data/line_source.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sparsetrain::data {

// The two kinds of byte streams behind a LineSource.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Reads up to n bytes; 0 at end; throws DataError on I/O errors. Sets `truncated`
  // when a compressed stream ends before its end marker.
  virtual size_t read(char* dst, size_t n, bool& truncated) = 0;
  virtual void seek(uint64_t offset) = 0;
  // Bytes of the file on disk consumed so far (gzip: compressed bytes, read-ahead included).
  virtual uint64_t disk_offset() = 0;
};

namespace {

class PlainStream final : public ByteStream {
 public:
  explicit PlainStream(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw DataError("cannot open input '" + path + "': " + std::strerror(errno));
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  ~PlainStream() override { ::close(fd_); }
  size_t read(char* dst, size_t n, bool&) override {
    for (;;) {
      const ssize_t got = ::read(fd_, dst, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno != EINTR) throw DataError("read error on '" + path_ + "': " + std::strerror(errno));
    }
  }
  void seek(uint64_t offset) override {
    if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0)
      throw DataError("cannot seek in '" + path_ + "': " + std::strerror(errno));
  }
  uint64_t disk_offset() override {
    const off_t at = ::lseek(fd_, 0, SEEK_CUR);
    return at < 0 ? 0 : static_cast<uint64_t>(at);
  }

 private:
  std::string path_;
  int fd_ = -1;
};

class GzipStream final : public ByteStream {
 public:
  explicit GzipStream(const std::string& path) : path_(path) {
    gz_ = gzopen(path.c_str(), "rb");
    if (!gz_) throw DataError("cannot open gzip input '" + path + "': " + std::strerror(errno));
    gzbuffer(gz_, 1 << 18);
  }
  ~GzipStream() override { gzclose(gz_); }
  size_t read(char* dst, size_t n, bool& truncated) override {
    const int got = gzread(gz_, dst, static_cast<unsigned>(std::min<size_t>(n, 1u << 30)));
    // zlib flags an error (e.g. "unexpected end of file" on a truncated member) as soon as
    // it meets it, while its own output buffer may still hold data decompressed before
    // that point: hand out every byte first, and judge the error only once gzread has
    // nothing left (it then returns 0, or -1 for a hard error).
    if (got > 0) return static_cast<size_t>(got);
    int err = Z_OK;
    const char* msg = gzerror(gz_, &err);
    if (got == 0 && err == Z_BUF_ERROR) {  // zlib: "unexpected end of file" = truncated member
      truncated = true;
      return 0;
    }
    if (got < 0 || (err != Z_OK && err != Z_STREAM_END)) {
      throw DataError("corrupt gzip input '" + path_ + "': " + (msg ? msg : "unknown zlib error"));
    }
    return 0;
  }
  void seek(uint64_t offset) override {
    // zlib emulates this by decompressing up to the offset: correct, and only used on resume.
    if (gzseek(gz_, static_cast<z_off_t>(offset), SEEK_SET) < 0)
      throw DataError("cannot seek to byte " + std::to_string(offset) + " in gzip input '" + path_ + "'");
  }
  uint64_t disk_offset() override {
    const z_off_t at = gzoffset(gz_);
    return at < 0 ? 0 : static_cast<uint64_t>(at);
  }

 private:
  std::string path_;
  gzFile gz_ = nullptr;
};

// Number of '\n' in the first `bytes` bytes of a plain file.
uint64_t count_newlines(const std::string& path, uint64_t bytes) {
  PlainStream s(path);
  std::vector<char> buf(1 << 16);  // small: read once per piece, and a 1 MiB block is an mmap under ASan
  uint64_t lines = 0, done = 0;
  bool trunc = false;
  while (done < bytes) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), bytes - done));
    const size_t got = s.read(buf.data(), want, trunc);
    if (got == 0) break;
    lines += static_cast<uint64_t>(std::count(buf.data(), buf.data() + got, '\n'));
    done += got;
  }
  return lines;
}

}  // namespace

LineSource::LineSource(const InputFile& file, const ShardPiece& piece, size_t block_bytes, size_t max_line)
    : file_(file), piece_(piece), max_line_(max_line) {
  if (file.gzip) {
    stream_ = std::make_unique<GzipStream>(file.path);
  } else {
    stream_ = std::make_unique<PlainStream>(file.path);
  }
  buf_.resize(std::max<size_t>(block_bytes, 4096));
  if (piece_.begin > 0 && !file.gzip) {
    // A line belongs to the piece in which its first byte lies: if the byte before
    // `begin` is not a newline we are mid-line, and the previous piece owns that line.
    stream_->seek(piece_.begin - 1);
    offset_ = piece_.begin - 1;
    const char* line;
    size_t len;
    if (fill() && buf_[pos_] == '\n') {
      ++pos_;
      ++offset_;
    } else {
      // Skip the partial line (up to and including its newline) without counting it.
      next(line, len);
      next_line_index_ = 0;
    }
  } else {
    line_base_ = 1;
  }
  first_line_offset_ = offset_;
}

LineSource::~LineSource() = default;

uint64_t LineSource::disk_offset() const { return file_.gzip ? stream_->disk_offset() : offset_; }

bool LineSource::fill() {
  if (eof_) return false;
  if (pos_ > 0) {  // keep the unread tail at the front
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
  bool truncated = false;
  const size_t got = stream_->read(buf_.data() + end_, buf_.size() - end_, truncated);
  end_ += got;
  if (truncated) {
    eof_ = true;
    truncated_ = true;
  }
  if (got == 0) eof_ = true;
  return got > 0;
}

LineSource::Status LineSource::next(const char*& line, size_t& len) {
  for (;;) {
    // offset_ is where the next line starts; a plain piece owns the lines starting before its end.
    if (!file_.gzip && !skipping_long_ && offset_ >= piece_.end) return Status::End;
    const char* start = buf_.data() + pos_;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
    if (nl) {
      len = static_cast<size_t>(nl - start);
      line = start;
      pos_ += len + 1;
      offset_ += len + 1;
      line_index_ = next_line_index_++;
      if (skipping_long_ || len > max_line_) {
        skipping_long_ = false;
        return Status::TooLong;
      }
      return Status::Line;
    }
    if (end_ - pos_ > max_line_) {
      // Over-long line: drop what we have and keep scanning for its end.
      offset_ += end_ - pos_;
      pos_ = end_ = 0;
      skipping_long_ = true;
    }
    if (!fill()) {
      if (truncated_ && !truncation_reported_) {
        // The stream ended mid-member: whatever follows the last newline is a partial line.
        truncation_reported_ = true;
        offset_ += end_ - pos_;
        pos_ = end_;
        line_index_ = next_line_index_++;
        skipping_long_ = false;
        return Status::Truncated;
      }
      if (pos_ < end_ || skipping_long_) {  // last line without a trailing newline
        line = buf_.data() + pos_;
        len = end_ - pos_;
        offset_ += len;
        pos_ = end_;
        line_index_ = next_line_index_++;
        if (skipping_long_) {
          skipping_long_ = false;
          return Status::TooLong;
        }
        return Status::Line;
      }
      return Status::End;
    }
  }
}

uint64_t LineSource::file_line_number() {
  if (line_base_ < 0) line_base_ = static_cast<int64_t>(count_newlines(file_.path, first_line_offset_)) + 1;
  return static_cast<uint64_t>(line_base_) + line_index_;
}

void LineSource::seek(uint64_t offset, uint64_t line_index) {
  stream_->seek(offset);
  offset_ = offset;
  pos_ = end_ = 0;
  eof_ = false;
  next_line_index_ = line_index;
}

}  // namespace sparsetrain::data
