#pragma once
// The streaming Criteo reader: expands the inputs, reads this rank's shard piece by
// piece, parses and featurizes rows into flat batches, and deals with bad rows as
// configured (count + warn + skip, or stop with file, line and field).
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sparsetrain/data/criteo_row.h"
#include "sparsetrain/data/featurizer.h"
#include "sparsetrain/data/line_source.h"
#include "sparsetrain/data/shard.h"

namespace sparsetrain::data {

enum class ErrorPolicy { Skip, Fail };

struct ReaderOptions {
  std::string inputs;  // comma-separated paths / globs
  int rank = 0;
  int nranks = 1;
  LabelMode label_mode = LabelMode::Required;
  ErrorPolicy on_error = ErrorPolicy::Skip;
  int max_warnings = 10;
  FeaturizerOptions featurizer;
  size_t block_bytes = 1 << 20;
  // next_batch copies the lines it is about to parse in parallel; a round stops after
  // this many bytes of text (then the next round goes on), so memory stays bounded
  // however long the lines are. Any value gives the same batches.
  size_t round_bytes = size_t{64} << 20;
  // Prediction keeps one output per input line: a skipped malformed row still yields
  // a placeholder row with valid = 0 (ids of missing values, label -1).
  bool emit_invalid = false;
  // Where warnings go (default: stderr). Tests capture them.
  std::function<void(const std::string&)> warn;
};

struct ReaderStats {
  uint64_t rows = 0;     // good rows delivered (not the placeholders of emit_invalid)
  uint64_t bytes = 0;    // bytes of input consumed (uncompressed)
  uint64_t skipped = 0;  // malformed rows skipped
  std::array<uint64_t, kNumRowErrorKinds> skipped_by_kind{};
  uint64_t crlf_rows = 0;  // rows that ended in \r\n (accepted)
  uint64_t warnings_printed = 0;

  // The counts as one flat array (rows, bytes, skipped, crlf_rows, skipped_by_kind...), to
  // sum or gather them over ranks, and back; warnings_printed is per process and not in it.
  static constexpr size_t kCounts = 4 + kNumRowErrorKinds;
  std::array<uint64_t, kCounts> counts() const;
  static ReaderStats from_counts(const uint64_t* counts);
  ReaderStats& operator+=(const ReaderStats& other);
};

// One line: rows, skipped by kind, CRLF rows (e.g. "rows=8087 skipped=0 crlf_rows=0").
std::string describe(const ReaderStats& stats);

// Where a rank is in its shard: enough to continue exactly there.
struct ReaderCursor {
  uint64_t piece = 0;       // index into this rank's piece list
  uint64_t offset = 0;      // byte offset of the next line in that piece's file
  uint64_t line_index = 0;  // piece lines before it
  uint64_t rows = 0;        // rows delivered so far in this epoch
};

// The unread rest of one shard piece in the current epoch: the lines of `piece` that
// start at or after byte `offset` (uncompressed offset for gzip), `line_index` of them
// being the index within the piece of the line at `offset` (stride pieces keep lines by
// index). Checkpoints store every rank's remainders so that a resumed job, with the same
// or a different number of ranks, reads exactly the rows the epoch has left.
struct PieceRemainder {
  ShardPiece piece;
  uint64_t offset = 0;
  uint64_t line_index = 0;
};

// Re-splits the remainders of all ranks of an earlier job over `nranks` ranks and returns
// rank `rank`'s share; every line left in `all` is read by exactly one rank. Plain byte
// ranges are concatenated and cut into nranks equal byte spans (line ownership follows
// the first byte of a line, as in plan_shard); gzip or stride remainders cannot be cut by
// bytes and go whole to ranks in turn. Deterministic: every rank computes the same split.
std::vector<PieceRemainder> replan_remainders(const std::vector<PieceRemainder>& all,
                                              const std::vector<InputFile>& files, int rank, int nranks);

class CriteoReader {
 public:
  // Expands inputs (DataError if any is missing or unreadable) and plans the shard.
  explicit CriteoReader(ReaderOptions options);
  ~CriteoReader();

  // Fills `batch` with up to max_rows rows; returns the number read, 0 at the end of
  // the shard. Throws DataError on a malformed row when on_error = Fail.
  size_t next_batch(Batch& batch, size_t max_rows);

  // Back to the start of the shard (next epoch).
  void rewind();

  ReaderCursor cursor() const;
  void seek(const ReaderCursor& cursor);

  // This rank's unread work in the current epoch (the current piece from the cursor on,
  // then the pieces not started yet).
  std::vector<PieceRemainder> remaining() const;
  // Reads exactly `rest` for the remainder of this epoch (a resumed job's share);
  // rewind() goes back to the planned shard for the next epoch.
  void assign_remaining(const std::vector<PieceRemainder>& rest);

  // The part of this rank's planned shard read so far in this epoch, in [0, 1], by bytes on
  // disk (compressed bytes for gzip), for progress lines.
  double epoch_fraction() const;

  const ReaderStats& stats() const { return stats_; }
  // One line: rows, skipped by kind, CRLF rows.
  std::string summary() const;
  const std::vector<InputFile>& files() const { return files_; }
  const std::vector<ShardPiece>& pieces() const { return pieces_; }
  const Featurizer& featurizer() const { return featurizer_; }

 private:
  bool open_piece(size_t piece);  // false when past the last piece
  void report(RowError kind, const std::string& message);
  size_t emit_placeholder(Batch& batch, size_t n);
  void gather_lines(size_t want);
  // A round's two later phases: parse_pending fills batch rows n.. from pending_ (parallel);
  // account_parsed reports and skips the bad lines in order and returns the new row count.
  void parse_pending(Batch& batch, size_t n);
  size_t account_parsed(Batch& batch, size_t n);
  void note_crlf(uint64_t file_line);  // counts a CRLF row; warns once per reader

  // next_batch reads in rounds: the next lines of the current piece are copied out of the
  // source (serial), parsed and featurized in parallel, then accounted for in line order
  // (serial). A round never spans two pieces, so its lines' file line numbers are the
  // source's base + their line index.
  struct PendingLine {
    LineSource::Status status = LineSource::Status::Line;
    uint64_t begin = 0, len = 0;  // the line's bytes in text_
    uint64_t line_index = 0;      // index of the line in its piece
    std::string message;          // TooLong / Truncated: the report, with file and line
  };
  struct ParsedLine {
    bool ok = false, crlf = false;
    ParseFailure failure;
  };
  std::vector<PendingLine> pending_;
  std::vector<ParsedLine> parsed_;
  std::string text_;
  bool source_ended_ = false;  // source_ returned End: open the next piece before reading on

  ReaderOptions options_;
  std::vector<InputFile> files_;
  std::vector<ShardPiece> pieces_;      // this epoch's pieces (planned_, or assigned remainders)
  std::vector<ShardPiece> planned_;     // plan_shard's pieces, read from every rewind()
  std::vector<PieceRemainder> starts_;  // where assigned pieces start; empty = at their beginning
  Featurizer featurizer_;
  size_t piece_ = 0;
  std::unique_ptr<LineSource> source_;
  ReaderStats stats_;
  uint64_t epoch_rows_ = 0;
  bool crlf_warned_ = false;
};

}  // namespace sparsetrain::data
