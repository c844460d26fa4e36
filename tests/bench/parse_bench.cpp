// Per-core throughput of the Criteo input path: CriteoReader parse + featurize over a
// whole file in batches of 4096 rows (OMP_NUM_THREADS threads parse each batch; the wall
// MB/s column shows the scaling), for a plain file and its gzip (level 1) version,
// plus a breakdown (line splitting alone, line splitting + parsing) to show where the
// time goes.
//
//   bench_parse_bench [--file PATH] [--mb N] [--gz-mb N] [--runs N] [--sample PATH]
//
// Without --file it writes a file of at least --mb MB (default 256) to /tmp by repeating
// the shipped 8k-row Criteo sample with deterministically perturbed integers and hex
// digits (every copy differs, every row stays valid), and a gzip-1 copy of its first
// --gz-mb MB (default 100). Both are reused by later runs.
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/data/criteo_row.h"
#include "sparsetrain/data/line_source.h"
#include "sparsetrain/util/hash.h"

namespace fs = std::filesystem;
using namespace sparsetrain;
using namespace sparsetrain::data;

namespace {

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// CPU time of the process, all threads: what "per core" means on a machine shared with
// other work (wall time there includes the time a thread waited for a core), and still
// right when the reader parses with several OpenMP threads (OMP_NUM_THREADS > 1).
double cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "parse_bench: %s\n", msg.c_str());
  std::exit(2);
}

std::string default_sample() {
  // tests/bench/parse_bench.cpp -> tests/fixtures/criteo_kaggle_head8k.tsv
  return (fs::path(__FILE__).parent_path().parent_path() / "fixtures" / "criteo_kaggle_head8k.tsv").string();
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) die("cannot read sample '" + path + "'");
  std::vector<std::string> lines;
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) lines.push_back(l);
  if (lines.empty()) die("sample '" + path + "' is empty");
  return lines;
}

const char kHex[] = "0123456789abcdef";

// Copy `k` of a sample line: integers nudged, a few hex digits changed, all still valid.
void perturb(const std::string& line, uint64_t k, uint64_t row, std::string& out) {
  int column = 0;
  size_t start = 0;
  while (start <= line.size()) {
    size_t tab = line.find('\t', start);
    if (tab == std::string::npos) tab = line.size();
    const char* f = line.data() + start;
    const size_t len = tab - start;
    const uint64_t h = util::hash64((row << 8) | static_cast<uint64_t>(column), k);
    if (column > 0) out += '\t';
    if (column == 0 || len == 0 || k == 0) {
      out.append(f, len);
    } else if (column <= kNumIntFields) {
      long long v = std::strtoll(std::string(f, len).c_str(), nullptr, 10);
      if (h % 4 == 0)
        v += static_cast<long long>((h >> 8) % 7);
      else if (h % 4 == 1 && v > 3)
        v = v * (2 + static_cast<long long>((h >> 8) % 3)) / 2;
      out += std::to_string(v);
    } else {
      std::string s(f, len);
      // Change one or two hex digits in most values (keeps the per-field vocabulary
      // large across copies, as in the real data).
      if (h % 8 != 0) s[(h >> 8) % s.size()] = kHex[(h >> 16) & 15];
      if (h % 3 == 0) s[(h >> 24) % s.size()] = kHex[(h >> 32) & 15];
      out += s;
    }
    start = tab + 1;
    ++column;
  }
  out += '\n';
}

void make_plain(const std::string& path, const std::vector<std::string>& sample, uint64_t min_bytes) {
  std::printf("generating %s (>= %.0f MB) ...\n", path.c_str(), min_bytes / 1e6);
  std::fflush(stdout);
  const double t0 = now_s();
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) die("cannot write '" + tmp + "'");
  uint64_t written = 0, row = 0;
  std::string buf;
  for (uint64_t k = 0; written < min_bytes; ++k) {
    buf.clear();
    for (const std::string& l : sample) perturb(l, k, row++, buf);
    if (std::fwrite(buf.data(), 1, buf.size(), f) != buf.size()) die("write error on '" + tmp + "'");
    written += buf.size();
  }
  if (std::fclose(f) != 0) die("write error on '" + tmp + "'");
  fs::rename(tmp, path);
  std::printf("  %.1f MB, %llu rows in %.1f s\n", written / 1e6, static_cast<unsigned long long>(row), now_s() - t0);
}

// gzip level 1 of the first `max_bytes` (whole lines) of `plain`.
void make_gzip(const std::string& plain, const std::string& path, uint64_t max_bytes) {
  std::printf("compressing the first %.0f MB of %s to %s (gzip -1) ...\n", max_bytes / 1e6, plain.c_str(),
              path.c_str());
  std::fflush(stdout);
  const double t0 = now_s();
  std::ifstream in(plain, std::ios::binary);
  const std::string tmp = path + ".tmp";
  gzFile gz = gzopen(tmp.c_str(), "wb1");
  if (!in || !gz) die("cannot compress to '" + tmp + "'");
  std::string line;
  uint64_t done = 0;
  std::string chunk;
  while (done < max_bytes && std::getline(in, line)) {
    chunk += line;
    chunk += '\n';
    done += line.size() + 1;
    if (chunk.size() >= (1u << 20)) {
      gzwrite(gz, chunk.data(), static_cast<unsigned>(chunk.size()));
      chunk.clear();
    }
  }
  if (!chunk.empty()) gzwrite(gz, chunk.data(), static_cast<unsigned>(chunk.size()));
  if (gzclose(gz) != Z_OK) die("gzip write error on '" + tmp + "'");
  fs::rename(tmp, path);
  std::printf("  %.1f MB -> %.1f MB in %.1f s\n", done / 1e6, fs::file_size(path) / 1e6, now_s() - t0);
}

struct Result {
  std::string what;
  uint64_t bytes = 0;       // uncompressed bytes processed
  uint64_t disk_bytes = 0;  // bytes on disk
  uint64_t rows = 0;
  double seconds = 0;      // wall
  double cpu_seconds = 0;  // thread CPU time
  uint64_t checksum = 0;
};

// Stage 1: line splitting only (LineSource).
Result bench_lines(const InputFile& file) {
  Result r;
  r.what = "lines only";
  r.disk_bytes = file.size;
  const double t0 = now_s(), c0 = cpu_s();
  LineSource src(file, ShardPiece{0, 0, file.size, 1, 0});
  const char* line;
  size_t len;
  while (src.next(line, len) != LineSource::Status::End) {
    ++r.rows;
    r.checksum += len;
  }
  r.seconds = now_s() - t0;
  r.cpu_seconds = cpu_s() - c0;
  r.bytes = src.next_offset();
  return r;
}

// Stage 2: line splitting + parsing (no featurizing).
Result bench_parse(const InputFile& file) {
  Result r;
  r.what = "lines+parse";
  r.disk_bytes = file.size;
  const double t0 = now_s(), c0 = cpu_s();
  LineSource src(file, ShardPiece{0, 0, file.size, 1, 0});
  const char* line;
  size_t len;
  CriteoRow row;
  ParseFailure f;
  while (src.next(line, len) != LineSource::Status::End) {
    if (parse_criteo_line(line, len, LabelMode::Required, row, f)) {
      ++r.rows;
      r.checksum += row.cat_value[3] + static_cast<uint64_t>(row.int_value[4]);
    }
  }
  r.seconds = now_s() - t0;
  r.cpu_seconds = cpu_s() - c0;
  r.bytes = src.next_offset();
  return r;
}

// The real thing: CriteoReader parse + featurize, batches of 4096.
Result bench_reader(const std::string& path) {
  Result r;
  r.what = "reader (parse+featurize)";
  ReaderOptions o;
  o.inputs = path;
  o.featurizer.input_dim = 1u << 22;
  CriteoReader reader(o);
  r.disk_bytes = reader.files()[0].size;
  Batch b;
  const double t0 = now_s(), c0 = cpu_s();
  while (size_t n = reader.next_batch(b, 4096)) {
    r.rows += n;
    r.checksum += b.ids[(n - 1) * 39 + 20] + static_cast<uint64_t>(b.dense[0] * 16);
  }
  r.seconds = now_s() - t0;
  r.cpu_seconds = cpu_s() - c0;
  r.bytes = reader.stats().bytes;
  if (reader.stats().skipped) std::fprintf(stderr, "warning: %s\n", reader.summary().c_str());
  return r;
}

template <class F> Result best_of(int runs, F&& f) {
  Result best;
  for (int i = 0; i < runs; ++i) {
    Result r = f();
    if (i == 0 || r.cpu_seconds < best.cpu_seconds) best = r;
  }
  return best;
}

void warm_page_cache(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buf(1 << 22);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string file, sample = default_sample();
  double mb = 256, gz_mb = 100;
  int runs = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--file")
      file = value();
    else if (a == "--mb")
      mb = std::stod(value());
    else if (a == "--gz-mb")
      gz_mb = std::stod(value());
    else if (a == "--runs")
      runs = std::max(1, std::stoi(value()));
    else if (a == "--sample")
      sample = value();
    else if (a == "-h" || a == "--help") {
      std::printf("usage: %s [--file PATH] [--mb N] [--gz-mb N] [--runs N] [--sample PATH]\n", argv[0]);
      return 0;
    } else {
      die("unknown argument '" + a + "'");
    }
  }

  std::vector<std::string> files;
  if (!file.empty()) {
    files.push_back(file);
  } else {
    const auto lines = read_lines(sample);
    const uint64_t want = static_cast<uint64_t>(mb * 1e6);
    const std::string plain = "/tmp/st_parse_bench_" + std::to_string(static_cast<long long>(mb)) + "mb.tsv";
    if (!fs::exists(plain) || fs::file_size(plain) < want) make_plain(plain, lines, want);
    files.push_back(plain);
    if (gz_mb > 0) {
      const std::string gz = "/tmp/st_parse_bench_" + std::to_string(static_cast<long long>(mb)) + "mb_first" +
                             std::to_string(static_cast<long long>(gz_mb)) + "mb.tsv.gz";
      if (!fs::exists(gz)) make_gzip(plain, gz, static_cast<uint64_t>(gz_mb * 1e6));
      files.push_back(gz);
    }
  }

  std::vector<Result> results;
  for (const std::string& path : files) {
    warm_page_cache(path);  // measure parsing, not the disk
    const InputFile in = expand_inputs(path).at(0);
    Result a = best_of(runs, [&] { return bench_lines(in); });
    Result b = best_of(runs, [&] { return bench_parse(in); });
    Result c = best_of(runs, [&] { return bench_reader(path); });
    for (Result* r : {&a, &b, &c}) r->what = (in.gzip ? "gzip-1  " : "plain   ") + r->what;
    if (a.rows != c.rows || b.rows != c.rows)
      std::fprintf(stderr, "note: row counts differ (lines %llu, parsed %llu, reader %llu)\n",
                   static_cast<unsigned long long>(a.rows), static_cast<unsigned long long>(b.rows),
                   static_cast<unsigned long long>(c.rows));
    results.push_back(a);
    results.push_back(b);
    results.push_back(c);
  }

  std::printf("\nsingle thread, best of %d run(s), batches of 4096 rows, page cache warm\n", runs);
  std::printf("per-core rates use the thread's CPU time; wall MB/s is lower when the machine is shared\n");
  std::printf("%-34s %9s %9s %9s %9s %10s %12s %8s %9s\n", "stage", "MB text", "MB disk", "cpu s", "wall s",
              "MB/s/core", "rows/s/core", "ns/row", "wall MB/s");
  for (const Result& r : results) {
    std::printf("%-34s %9.1f %9.1f %9.3f %9.3f %10.1f %12.0f %8.1f %9.1f\n", r.what.c_str(), r.bytes / 1e6,
                r.disk_bytes / 1e6, r.cpu_seconds, r.seconds, r.bytes / 1e6 / r.cpu_seconds, r.rows / r.cpu_seconds,
                r.cpu_seconds * 1e9 / std::max<uint64_t>(r.rows, 1), r.bytes / 1e6 / r.seconds);
  }
  uint64_t sum = 0;
  for (const Result& r : results) sum += r.checksum;
  std::printf("(checksum %llu)\n", static_cast<unsigned long long>(sum));
  return 0;
}
