#pragma once
// Helpers shared by the data module's tests: the fixture path, whole-file read and
// write (plain and gzip), and the tests' temporary directory (tests/common/temp_dir.h).
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../common/temp_dir.h"
#include "sparsetrain/data/featurizer.h"

namespace sparsetrain::data::testing {

// One delivered row, comparable exactly: label bits, 39 ids, then the 13 dense values'
// bits when the batch has dense features.
using Rec = std::vector<uint32_t>;

inline Rec rec_of(const Batch& b, size_t i) {
  Rec r;
  uint32_t bits;
  std::memcpy(&bits, &b.labels[i], 4);
  r.push_back(bits);
  r.insert(r.end(), b.ids.begin() + static_cast<long>(i * 39), b.ids.begin() + static_cast<long>((i + 1) * 39));
  for (size_t k = 0; k < b.dense.size() / std::max<size_t>(b.rows, 1) && k < 13; ++k) {
    std::memcpy(&bits, &b.dense[i * 13 + k], 4);
    r.push_back(bits);
  }
  return r;
}

inline const std::string kFixture = std::string(ST_TEST_DATA_DIR) + "/criteo_kaggle_head8k.tsv";

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

inline void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  ASSERT_TRUE(out) << path;
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

inline void write_gzip(const std::string& path, const std::string& content, int level = 6) {
  gzFile gz = gzopen(path.c_str(), ("wb" + std::to_string(level)).c_str());
  ASSERT_NE(gz, nullptr) << path;
  size_t done = 0;
  while (done < content.size()) {
    const unsigned n = static_cast<unsigned>(std::min<size_t>(content.size() - done, 1u << 20));
    ASSERT_EQ(gzwrite(gz, content.data() + done, n), static_cast<int>(n));
    done += n;
  }
  ASSERT_EQ(gzclose(gz), Z_OK);
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// Columns of a TSV line (empty fields kept).
inline std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> cols;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    cols.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  return cols;
}

using sparsetrain::testing::TempDir;

}  // namespace sparsetrain::data::testing
