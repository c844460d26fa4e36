// Fuzzes the line source (src/data/line_source.cpp): plain files, gzip files, byte-range
// pieces and seeks, reading the fuzzer's bytes from an in-memory file (memfd) by path.
//
// Input: [control byte][parameter byte][file bytes...]
//   control bits 0-1: 0 plain file; 1 the bytes as a .gz file (mostly corrupt streams);
//                     2 the bytes gzip-compressed here (a valid stream: the lines must
//                     come back exactly); 3 the same stream cut short (truncated member)
//   control bits 2-3: max_line 8, 100, 5000 or 1 MiB (the default)
//   parameter byte:   where a plain file is split into two pieces, where a truncated
//                     stream is cut, and after which line a second reader seeks
// Properties, besides the sanitizers' checks:
//  * plain and valid gzip: the lines and over-long lines read back are the file, byte for
//    byte, each Line without '\n' and at most max_line long, each TooLong longer;
//  * a truncated stream gives a prefix of the lines, then one Truncated, then End;
//  * two pieces split anywhere give together exactly the lines of the whole file, with
//    the same file line numbers;
//  * seeking to next_offset() after any line (the resume cursor) gives the same rest;
//  * data::estimate_rows (src/data/row_estimate.cpp, which inflates gzip itself) counts the
//    lines the reader reads: all of them for plain and valid gzip, for a truncated stream
//    between the lines read before the Truncated and the lines of the whole text.
// DataError (corrupt gzip) is the expected outcome of bad streams; anything else escapes.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "sparsetrain/data/line_source.h"
#include "sparsetrain/data/row_estimate.h"

using namespace sparsetrain;
using data::LineSource;

namespace {

struct Record {
  LineSource::Status status;
  std::string text;    // the line (Line only)
  uint64_t index = 0;  // line_index()
  uint64_t next_offset = 0;
  bool operator==(const Record&) const = default;
};

constexpr size_t kMaxRecords = 1 << 16;

std::vector<Record> read_all(LineSource& src, bool with_line_numbers = false,
                             std::vector<uint64_t>* numbers = nullptr) {
  std::vector<Record> out;
  for (;;) {
    const char* line = nullptr;
    size_t len = 0;
    const LineSource::Status st = src.next(line, len);
    if (st == LineSource::Status::End) break;
    Record r{st, st == LineSource::Status::Line ? std::string(line, len) : std::string(), src.line_index(),
             src.next_offset()};
    if (with_line_numbers) numbers->push_back(src.file_line_number());
    out.push_back(std::move(r));
    FUZZ_CHECK(out.size() < kMaxRecords);
  }
  // End is sticky.
  const char* line = nullptr;
  size_t len = 0;
  FUZZ_CHECK(src.next(line, len) == LineSource::Status::End);
  return out;
}

std::string gzip(const std::string& text) {
  z_stream zs{};
  FUZZ_CHECK(deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, text.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  FUZZ_CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// The physical lines of `text` (split at '\n'; a last line without '\n' counts).
std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

// The first `count` records match the first `count` lines one for one: Line with the exact
// text when it fits in max_line, TooLong when it does not; offsets are where each next line
// starts.
void check_against(const std::vector<Record>& recs, const std::vector<std::string>& lines, const std::string& text,
                   size_t max_line, size_t count) {
  FUZZ_CHECK(recs.size() >= count && lines.size() >= count);
  uint64_t offset = 0;
  for (size_t i = 0; i < count; ++i) {
    const std::string& want = lines[i];
    offset += want.size() + (offset + want.size() < text.size() ? 1 : 0);
    FUZZ_CHECK(recs[i].index == i);
    FUZZ_CHECK(recs[i].next_offset == offset);
    if (want.size() <= max_line) {
      FUZZ_CHECK(recs[i].status == LineSource::Status::Line);
      FUZZ_CHECK(recs[i].text == want);
    } else {
      FUZZ_CHECK(recs[i].status == LineSource::Status::TooLong);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::MemFile file("line_source_fuzz");
  if (size < 2) return 0;
  const int mode = data[0] & 3;
  static constexpr size_t kMaxLines[] = {8, 100, 5000, 1 << 20};
  const size_t max_line = kMaxLines[(data[0] >> 2) & 3];
  const uint8_t param = data[1];
  const std::string text(reinterpret_cast<const char*>(data + 2), size - 2);

  std::string bytes = text;
  if (mode >= 2) bytes = gzip(text);
  if (mode == 3) bytes.resize(bytes.size() * param / 256);  // cut short (possibly to nothing)
  // A plain-mode file that begins like gzip may be taken for one (gzip detection by
  // content): then only the sanitizers' checks apply.
  const bool gzip_magic = mode == 0 && bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x1f &&
                          static_cast<uint8_t>(bytes[1]) == 0x8b;
  file.write(bytes.data(), bytes.size());
  const data::InputFile in{file.path(), bytes.size(), mode != 0};
  const data::ShardPiece whole{0, 0, bytes.size(), 1, 0};

  try {
    LineSource src(in, whole, /*block_bytes=*/4096, max_line);
    const std::vector<Record> recs = read_all(src);
    const std::vector<std::string> lines = split_lines(text);

    if (mode == 0 && !gzip_magic) {
      FUZZ_CHECK(recs.size() == lines.size());
      check_against(recs, lines, text, max_line, lines.size());
      FUZZ_CHECK(recs.empty() || recs.back().next_offset == text.size());
      // Two pieces split at any byte: the lines starting before the split, then the others.
      const uint64_t split = text.size() * param / 255;
      LineSource first(in, data::ShardPiece{0, 0, split, 1, 0}, 4096, max_line);
      LineSource second(in, data::ShardPiece{0, split, text.size(), 1, 0}, 4096, max_line);
      std::vector<uint64_t> numbers;
      const std::vector<Record> a = read_all(first);
      const std::vector<Record> b = read_all(second, true, &numbers);
      FUZZ_CHECK(a.size() + b.size() == recs.size());
      for (size_t i = 0; i < a.size(); ++i) FUZZ_CHECK(a[i] == recs[i]);
      for (size_t i = 0; i < b.size(); ++i) {
        const Record& w = recs[a.size() + i];
        FUZZ_CHECK(b[i].status == w.status && b[i].text == w.text && b[i].next_offset == w.next_offset);
        FUZZ_CHECK(b[i].index == i);
        FUZZ_CHECK(numbers[i] == w.index + 1);  // 1-based line number in the file
      }
    } else if (mode == 2) {
      FUZZ_CHECK(recs.size() == lines.size());
      check_against(recs, lines, text, max_line, lines.size());
    } else if (mode == 3 && !recs.empty() && recs.back().status == LineSource::Status::Truncated) {
      // A prefix of the lines, then the partial last one reported once.
      // (All of them when only the trailer was cut.)
      FUZZ_CHECK(recs.size() <= lines.size() + 1);
      check_against(recs, lines, text, max_line, recs.size() - 1);
    } else if (mode == 3 && bytes.size() >= 2) {
      // zlib reads a stream cut anywhere after its magic bytes as truncated, even when
      // only the trailer is missing (a 1-byte file is read as plain text).
      FUZZ_CHECK(false);
    }

    // The row count the learning-rate schedule uses (the input is far below its 32 MiB sample).
    const data::RowEstimate est = data::estimate_rows({in});
    FUZZ_CHECK(est.exact);
    if ((mode == 0 && !gzip_magic) || mode == 2) FUZZ_CHECK(est.rows == lines.size());
    if (mode == 3 && !recs.empty() && recs.back().status == LineSource::Status::Truncated)
      FUZZ_CHECK(est.rows >= recs.size() - 1 && est.rows <= lines.size());

    // Resume: a reader seeking to the cursor after line k reads the same rest.
    if (!recs.empty() && (mode == 0 || mode >= 2)) {
      const size_t k = param % recs.size();
      if (recs[k].status != LineSource::Status::Truncated) {
        LineSource again(in, whole, 4096, max_line);
        again.seek(recs[k].next_offset, recs[k].index + 1);
        const std::vector<Record> rest = read_all(again);
        FUZZ_CHECK(rest.size() == recs.size() - k - 1);
        for (size_t i = 0; i < rest.size(); ++i) FUZZ_CHECK(rest[i] == recs[k + 1 + i]);
      }
    }
  } catch (const data::DataError&) {
    // Corrupt gzip input: reported as an error naming the file, as it should be. Plain
    // files, streams compressed here and cut streams (reported as Truncated) never get here.
    FUZZ_CHECK(mode == 1 || gzip_magic);
  }
  return 0;
}
