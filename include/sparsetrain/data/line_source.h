#pragma once
// Streams the lines of one shard piece of a plain or gzip file through a fixed
// buffer: never the whole file in memory. Tracks the byte offset and line index of
// every line so errors can name their line and checkpoints can record a cursor.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sparsetrain/data/shard.h"

namespace sparsetrain::data {

class ByteStream;  // plain fd or zlib gz stream

class LineSource {
 public:
  enum class Status { Line, TooLong, Truncated, End };

  // max_line: longest line accepted; a longer one is skipped and reported as TooLong.
  LineSource(const InputFile& file, const ShardPiece& piece, size_t block_bytes = 1 << 20, size_t max_line = 1 << 20);
  ~LineSource();
  LineSource(const LineSource&) = delete;
  LineSource& operator=(const LineSource&) = delete;

  // Next line of the piece (without '\n'); pointer valid until the next call.
  // Truncated: a gzip stream ended mid-member (the partial last line is dropped).
  Status next(const char*& line, size_t& len);

  // 0-based index of the last returned line within the piece (counts every physical
  // line, also skipped ones) and its 1-based line number in the file (computed on
  // first use for pieces that start mid-file: it scans the prefix once).
  uint64_t line_index() const { return line_index_; }
  uint64_t line_index_next() const { return next_line_index_; }
  uint64_t file_line_number();
  // (Uncompressed) byte offset where the next line starts: the resume cursor.
  uint64_t next_offset() const { return offset_; }
  // How far into the file on disk the reading is: next_offset() for a plain file, the
  // compressed bytes consumed for gzip (what progress is measured in).
  uint64_t disk_offset() const;
  // Continue at a line start previously given by next_offset(); line_index is the
  // number of piece lines before it.
  void seek(uint64_t offset, uint64_t line_index);

  const std::string& path() const { return file_.path; }

 private:
  bool fill();  // reads more bytes after the kept tail; false at end of stream

  InputFile file_;
  ShardPiece piece_;
  std::unique_ptr<ByteStream> stream_;
  std::vector<char> buf_;
  size_t max_line_;
  size_t pos_ = 0, end_ = 0;  // unread bytes are buf_[pos_, end_)
  bool eof_ = false;
  bool truncated_ = false;  // the compressed stream ended early
  bool truncation_reported_ = false;
  bool skipping_long_ = false;      // inside a line longer than max_line_
  uint64_t offset_ = 0;             // file offset of buf_[pos_]
  uint64_t line_index_ = 0;         // of the last line returned
  uint64_t next_line_index_ = 0;    // of the next line
  int64_t line_base_ = -1;          // file line number of the piece's first line, -1 = not yet known
  uint64_t first_line_offset_ = 0;  // where the piece's first line starts
};

}  // namespace sparsetrain::data
