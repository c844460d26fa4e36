#include "sparsetrain/data/criteo_reader.h"

#include <algorithm>
#include <cstring>
#include <iostream>
#include <sstream>

namespace sparsetrain::data {

CriteoReader::CriteoReader(ReaderOptions options)
    : options_(std::move(options)),
      files_(expand_inputs(options_.inputs)),
      pieces_(plan_shard(files_, options_.rank, options_.nranks)),
      featurizer_(options_.featurizer) {
  planned_ = pieces_;
  if (!options_.warn) options_.warn = [](const std::string& m) { std::cerr << m << "\n"; };
  open_piece(0);
}

CriteoReader::~CriteoReader() = default;

bool CriteoReader::open_piece(size_t piece) {
  piece_ = piece;
  source_.reset();
  source_ended_ = false;
  if (piece_ >= pieces_.size()) return false;
  const ShardPiece& p = pieces_[piece_];
  source_ = std::make_unique<LineSource>(files_[p.file], p, options_.block_bytes);
  // An assigned remainder starting past its piece's first line: continue at its line start.
  if (piece_ < starts_.size() && (starts_[piece_].offset != p.begin || starts_[piece_].line_index != 0))
    source_->seek(starts_[piece_].offset, starts_[piece_].line_index);
  return true;
}

void CriteoReader::rewind() {
  epoch_rows_ = 0;
  pieces_ = planned_;
  starts_.clear();
  open_piece(0);
}

std::vector<PieceRemainder> CriteoReader::remaining() const {
  std::vector<PieceRemainder> out;
  for (size_t i = piece_; i < pieces_.size(); ++i) {
    PieceRemainder r;
    r.piece = pieces_[i];
    r.offset = pieces_[i].begin;
    if (i == piece_ && source_) {
      r.offset = source_->next_offset();
      r.line_index = source_->line_index_next();
    } else if (i < starts_.size()) {
      r = starts_[i];
    }
    out.push_back(r);
  }
  return out;
}

double CriteoReader::epoch_fraction() const {
  auto disk_bytes = [&](const ShardPiece& p) { return files_[p.file].gzip ? files_[p.file].size : p.end - p.begin; };
  double total = 0, left = 0;
  for (const auto& p : planned_) total += static_cast<double>(disk_bytes(p));
  for (size_t i = piece_; i < pieces_.size(); ++i) {
    const ShardPiece& p = pieces_[i];
    uint64_t from = files_[p.file].gzip ? 0 : p.begin;  // where the unread part starts on disk
    if (i == piece_ && source_)
      from = source_->disk_offset();
    else if (i < starts_.size() && !files_[p.file].gzip)
      from = starts_[i].offset;
    const uint64_t end = files_[p.file].gzip ? files_[p.file].size : p.end;
    left += static_cast<double>(end > from ? end - from : 0);
  }
  if (total <= 0) return 1.0;
  return std::clamp(1.0 - left / total, 0.0, 1.0);
}

void CriteoReader::assign_remaining(const std::vector<PieceRemainder>& rest) {
  for (const auto& r : rest) {
    if (r.piece.file >= files_.size())
      throw DataError("resume: a data remainder names input #" + std::to_string(r.piece.file) + " of only " +
                      std::to_string(files_.size()));
  }
  pieces_.clear();
  for (const auto& r : rest) pieces_.push_back(r.piece);
  starts_ = rest;
  epoch_rows_ = 0;
  open_piece(0);
}

std::vector<PieceRemainder> replan_remainders(const std::vector<PieceRemainder>& all,
                                              const std::vector<InputFile>& files, int rank, int nranks) {
  if (nranks < 1 || rank < 0 || rank >= nranks) throw std::invalid_argument("bad rank/nranks");
  std::vector<PieceRemainder> mine;
  // Plain byte ranges [offset, end): lines starting there are still unread.
  struct Span {
    size_t file;
    uint64_t lo, hi;
  };
  std::vector<Span> spans;
  uint64_t total = 0;
  size_t whole = 0;
  for (const auto& r : all) {
    if (r.piece.file >= files.size()) throw DataError("resume: a data remainder names an unknown input");
    if (files[r.piece.file].gzip || r.piece.stride > 1) {
      if (whole++ % static_cast<size_t>(nranks) == static_cast<size_t>(rank)) mine.push_back(r);
      continue;
    }
    const uint64_t lo = std::max(r.offset, r.piece.begin);
    if (lo >= r.piece.end) continue;
    spans.push_back({r.piece.file, lo, r.piece.end});
    total += r.piece.end - lo;
  }
  // This rank's global byte interval [a, b) of the concatenated spans.
  const auto cut = [&](int k) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(total) * static_cast<unsigned>(k)) /
                                 static_cast<unsigned>(nranks));
  };
  const uint64_t a = cut(rank), b = cut(rank + 1);
  uint64_t base = 0;
  for (const Span& s : spans) {
    const uint64_t len = s.hi - s.lo;
    const uint64_t lo = std::max(a, base), hi = std::min(b, base + len);
    if (lo < hi) {
      // A span cut mid-line starts after the partial line (its owner is the previous span).
      PieceRemainder r;
      r.piece = {s.file, s.lo + (lo - base), s.lo + (hi - base), 1, 0};
      r.offset = r.piece.begin;
      mine.push_back(r);
    }
    base += len;
  }
  return mine;
}

void CriteoReader::report(RowError kind, const std::string& message) {
  if (options_.on_error == ErrorPolicy::Fail) throw DataError(message + " (data.on_error = fail)");
  ++stats_.skipped;
  ++stats_.skipped_by_kind[static_cast<int>(kind)];
  if (stats_.warnings_printed < static_cast<uint64_t>(options_.max_warnings)) {
    ++stats_.warnings_printed;
    options_.warn("warning: " + message + " (row skipped)");
    if (stats_.warnings_printed == static_cast<uint64_t>(options_.max_warnings))
      options_.warn("warning: further malformed rows are only counted (data.max_warnings = " +
                    std::to_string(options_.max_warnings) + ")");
  }
}

size_t CriteoReader::emit_placeholder(Batch& batch, size_t n) {
  if (!options_.emit_invalid) return n;
  CriteoRow empty;
  for (int i = 0; i < kNumIntFields; ++i) empty.int_present[i] = false;
  for (int i = 0; i < kNumCatFields; ++i) empty.cat_present[i] = false;
  const bool dense = options_.featurizer.dense_features;
  featurizer_.featurize(empty, &batch.ids[n * Featurizer::kIdsPerRow],
                        dense ? &batch.dense[n * Featurizer::kDensePerRow] : nullptr);
  batch.labels[n] = -1.0f;
  batch.valid[n] = 0;
  return n + 1;
}

void CriteoReader::gather_lines(size_t want) {
  pending_.clear();
  text_.clear();
  while (pending_.size() < want && text_.size() < options_.round_bytes && source_ && !source_ended_) {
    const char* line = nullptr;
    size_t len = 0;
    const uint64_t before = source_->next_offset();
    const LineSource::Status status = source_->next(line, len);
    if (status == LineSource::Status::End) {
      source_ended_ = true;
      break;
    }
    const ShardPiece& piece = pieces_[piece_];
    if (piece.stride > 1 && source_->line_index() % piece.stride != piece.phase) continue;
    stats_.bytes += source_->next_offset() - before;
    PendingLine p;
    p.status = status;
    p.line_index = source_->line_index();
    const auto at = [&] { return source_->path() + ":" + std::to_string(source_->file_line_number()); };
    if (status == LineSource::Status::Truncated) {
      p.message = at() +
                  ": input ends in the middle of a compressed stream (truncated gzip member); the partial "
                  "last line is dropped";
    } else if (status == LineSource::Status::TooLong) {
      p.message = at() + ": line longer than 1 MiB";
    } else {
      p.begin = text_.size();
      p.len = len;
      text_.append(line, len);
    }
    pending_.push_back(std::move(p));
  }
}

void CriteoReader::parse_pending(Batch& batch, size_t n) {
  // Parse + featurize line i into batch row n + i, in parallel (each line on its own: the
  // result does not depend on the thread count). Large batches only: a parallel region
  // costs more than parsing a few lines.
  const bool dense = options_.featurizer.dense_features;
  constexpr size_t kIds = Featurizer::kIdsPerRow, kDense = Featurizer::kDensePerRow;
  const size_t m = pending_.size();
  parsed_.resize(m);
  const LabelMode mode = options_.label_mode;
#pragma omp parallel if (m >= 256)
  {
    CriteoRow row;
#pragma omp for schedule(static)
    for (long li = 0; li < static_cast<long>(m); ++li) {
      const size_t i = static_cast<size_t>(li);
      ParsedLine& out = parsed_[i];
      out.ok = out.crlf = false;
      const PendingLine& p = pending_[i];
      if (p.status != LineSource::Status::Line) continue;
      if (!parse_criteo_line(text_.data() + p.begin, p.len, mode, row, out.failure)) continue;
      out.ok = true;
      out.crlf = row.had_crlf;
      featurizer_.featurize(row, &batch.ids[(n + i) * kIds], dense ? &batch.dense[(n + i) * kDense] : nullptr);
      batch.labels[n + i] = static_cast<float>(row.label);
    }
  }
}

void CriteoReader::note_crlf(uint64_t file_line) {
  ++stats_.crlf_rows;
  if (crlf_warned_) return;
  crlf_warned_ = true;
  options_.warn("warning: " + source_->path() + ":" + std::to_string(file_line) +
                ": line ends in \\r\\n (Windows line ending); the \\r is ignored and such rows are counted as "
                "crlf_rows");
}

size_t CriteoReader::account_parsed(Batch& batch, size_t n) {
  // In line order: reports, counts and skips; good rows move down over skipped ones.
  const bool dense = options_.featurizer.dense_features;
  constexpr size_t kIds = Featurizer::kIdsPerRow, kDense = Featurizer::kDensePerRow;
  const size_t first = n;
  const auto file_line = [&](const PendingLine& p) {
    return source_->file_line_number() - source_->line_index() + p.line_index;
  };
  for (size_t i = 0; i < pending_.size(); ++i) {
    const PendingLine& p = pending_[i];
    const ParsedLine& r = parsed_[i];
    if (p.status != LineSource::Status::Line) {
      report(p.status == LineSource::Status::Truncated ? RowError::TruncatedInput : RowError::LineTooLong, p.message);
      n = emit_placeholder(batch, n);
      continue;
    }
    if (!r.ok) {
      std::string where = source_->path() + ":" + std::to_string(file_line(p)) + ": ";
      if (r.failure.column >= 0) where += "field " + column_name(r.failure.column, r.failure.labeled) + ": ";
      report(r.failure.error, where + r.failure.detail);
      n = emit_placeholder(batch, n);
      continue;
    }
    if (r.crlf) note_crlf(file_line(p));
    const size_t from = first + i;
    if (from != n) {
      std::memcpy(&batch.ids[n * kIds], &batch.ids[from * kIds], kIds * sizeof(batch.ids[0]));
      if (dense) std::memcpy(&batch.dense[n * kDense], &batch.dense[from * kDense], kDense * sizeof(float));
      batch.labels[n] = batch.labels[from];
    }
    ++n;
  }
  return n;
}

size_t CriteoReader::next_batch(Batch& batch, size_t max_rows) {
  const bool dense = options_.featurizer.dense_features;
  batch.resize(max_rows, dense);
  std::fill(batch.valid.begin(), batch.valid.end(), uint8_t{1});
  size_t n = 0;
  while (n < max_rows && source_) {
    // Round: exactly the lines that can still fill the batch, so the batch holds the
    // same rows, and the cursor ends at the same line, as reading one line at a time.
    gather_lines(max_rows - n);
    if (pending_.empty()) {
      if (source_ended_) open_piece(piece_ + 1);
      continue;
    }
    parse_pending(batch, n);
    n = account_parsed(batch, n);
  }
  // Placeholders of skipped rows (emit_invalid) are batch rows, and count in the epoch's
  // cursor, but they are counted as skipped, not delivered.
  uint64_t placeholders = 0;
  if (options_.emit_invalid)
    for (size_t i = 0; i < n; ++i) placeholders += batch.valid[i] == 0;
  stats_.rows += n - placeholders;
  epoch_rows_ += n;
  batch.resize(n, dense);  // rows, ids, dense and labels all describe the n rows read
  return n;
}

ReaderCursor CriteoReader::cursor() const {
  ReaderCursor c;
  c.piece = piece_;
  c.rows = epoch_rows_;
  if (source_) {
    c.offset = source_->next_offset();
    c.line_index = source_->line_index_next();
  }
  return c;
}

void CriteoReader::seek(const ReaderCursor& c) {
  if (!open_piece(c.piece)) {
    epoch_rows_ = c.rows;
    return;
  }
  source_->seek(c.offset, c.line_index);
  epoch_rows_ = c.rows;
}

std::array<uint64_t, ReaderStats::kCounts> ReaderStats::counts() const {
  std::array<uint64_t, kCounts> c{rows, bytes, skipped, crlf_rows};
  std::copy(skipped_by_kind.begin(), skipped_by_kind.end(), c.begin() + 4);
  return c;
}

ReaderStats ReaderStats::from_counts(const uint64_t* c) {
  ReaderStats s;
  s.rows = c[0];
  s.bytes = c[1];
  s.skipped = c[2];
  s.crlf_rows = c[3];
  std::copy(c + 4, c + kCounts, s.skipped_by_kind.begin());
  return s;
}

ReaderStats& ReaderStats::operator+=(const ReaderStats& other) {
  const auto a = counts(), b = other.counts();
  std::array<uint64_t, kCounts> sum;
  for (size_t i = 0; i < kCounts; ++i) sum[i] = a[i] + b[i];
  const uint64_t warnings = warnings_printed + other.warnings_printed;
  *this = from_counts(sum.data());
  warnings_printed = warnings;
  return *this;
}

std::string describe(const ReaderStats& stats) {
  std::ostringstream os;
  os << "rows=" << stats.rows << " skipped=" << stats.skipped;
  for (int k = 1; k < kNumRowErrorKinds; ++k) {
    if (stats.skipped_by_kind[k])
      os << " " << row_error_name(static_cast<RowError>(k)) << "=" << stats.skipped_by_kind[k];
  }
  os << " crlf_rows=" << stats.crlf_rows;
  return os.str();
}

std::string CriteoReader::summary() const { return describe(stats_); }

}  // namespace sparsetrain::data
