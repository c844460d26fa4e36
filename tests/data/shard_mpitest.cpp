// Under a real mpirun: every rank reads its own shard, and together the ranks read
// every row exactly once — for one plain file (byte ranges), one gzip file (row
// stride) and many files (whole files).
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../common/temp_dir.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/util/hash.h"

using namespace sparsetrain;

namespace {

collective::Comm* g_comm = nullptr;
std::string g_dir;

const std::string kSample = std::string(ST_TEST_DATA_DIR) + "/criteo_kaggle_head8k.tsv";

// One key per row: its featurized ids and label, plus the row's position within
// the reading rank (so duplicates are visible).
std::vector<uint64_t> row_keys(const std::string& inputs, int rank, int nranks) {
  data::ReaderOptions o;
  o.inputs = inputs;
  o.rank = rank;
  o.nranks = nranks;
  data::CriteoReader reader(o);
  data::Batch batch;
  std::vector<uint64_t> keys;
  while (size_t n = reader.next_batch(batch, 1000)) {
    for (size_t i = 0; i < n; ++i) {
      uint64_t h = static_cast<uint64_t>(batch.labels[i]);
      for (int j = 0; j < data::Featurizer::kIdsPerRow; ++j)
        h = util::hash64(h, batch.ids[i * data::Featurizer::kIdsPerRow + j]);
      keys.push_back(h);
    }
  }
  return keys;
}

void expect_exact_cover(const std::string& inputs) {
  std::vector<uint64_t> all = row_keys(inputs, 0, 1);
  std::vector<uint64_t> mine = row_keys(inputs, g_comm->rank(), g_comm->size());
  std::vector<uint64_t> gathered = g_comm->allgatherv(mine);
  EXPECT_EQ(gathered.size(), all.size()) << inputs;
  std::sort(all.begin(), all.end());
  std::sort(gathered.begin(), gathered.end());
  EXPECT_EQ(gathered, all) << inputs;  // same multiset: nothing lost, nothing twice
  EXPECT_GT(mine.size(), 0u) << "rank " << g_comm->rank() << " read nothing from " << inputs;
}

std::string gzip_copy(const std::string& src, const std::string& dst) {
  std::ifstream in(src, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  gzFile gz = gzopen(dst.c_str(), "wb1");
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  return dst;
}

}  // namespace

TEST(ShardMpi, SinglePlainFileByByteRanges) { expect_exact_cover(kSample); }

TEST(ShardMpi, SingleGzipFileByRowStride) { expect_exact_cover(g_dir + "/sample.tsv.gz"); }

TEST(ShardMpi, ManyFilesWholeFiles) { expect_exact_cover(g_dir + "/part_*.tsv"); }

TEST(ShardMpi, MixedPlainAndGzip) { expect_exact_cover(kSample + "," + g_dir + "/sample.tsv.gz"); }

int main(int argc, char** argv) {
  collective::Comm& comm = collective::Comm::world(&argc, &argv);
  g_comm = &comm;
  ::testing::InitGoogleTest(&argc, argv);
  if (comm.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  // Rank 0 prepares the inputs in a fresh directory every rank can see (the np2 and np3
  // runs of this test may run at once).
  if (comm.is_root()) g_dir = sparsetrain::testing::make_temp_dir("st_shard_mpitest_").string();
  comm.broadcast(g_dir);
  if (comm.is_root()) {
    gzip_copy(kSample, g_dir + "/sample.tsv.gz");
    // Five parts of uneven size (more files than ranks for np <= 5).
    std::ifstream in(kSample);
    std::string line;
    const int sizes[] = {3000, 1500, 1500, 1000, 1087};
    for (int p = 0; p < 5; ++p) {
      std::ofstream out(g_dir + "/part_" + std::to_string(p) + ".tsv");
      for (int i = 0; i < sizes[p] && std::getline(in, line); ++i) out << line << "\n";
    }
  }
  comm.barrier();
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  uint64_t any = comm.sum(static_cast<uint64_t>(failed));
  comm.barrier();
  if (comm.is_root()) std::system(("rm -rf " + g_dir).c_str());
  comm.finalize();
  return any ? 1 : 0;
}
