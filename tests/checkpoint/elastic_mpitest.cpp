// Elastic resume of the data: a job of P_old ranks stops part way through an epoch
// (each rank at a different point), its cursors go through a checkpoint's encoding, and
// the real world of P ranks (run under mpirun -np 2 and -np 3; P_old is 3 resp. 2)
// re-splits the unread rest. Every row of the epoch must be read exactly once: the rows
// the old ranks read plus the rows all new ranks read equal the input, as a multiset.
// Covers one plain file (byte ranges), plain + gzip (byte ranges + row strides) and
// three files (whole files per rank).
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "../common/temp_dir.h"
#include "sparsetrain/checkpoint/checkpoint.h"
#include "sparsetrain/collective/comm.h"
#include "sparsetrain/data/criteo_reader.h"
#include "sparsetrain/train/checkpointing.h"
#include "sparsetrain/util/hash.h"

namespace fs = std::filesystem;
using namespace sparsetrain;

namespace {

collective::Comm* g_comm = nullptr;
const std::string kFixture = std::string(ST_TEST_DATA_DIR) + "/criteo_sample_train.tsv";

using sparsetrain::testing::TempDir;

std::vector<std::string> fixture_lines() {
  std::ifstream in(kFixture);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

void write_file(const std::string& path, const std::vector<std::string>& lines, size_t from, size_t to) {
  std::string text;
  for (size_t i = from; i < to; ++i) text += lines[i] + "\n";
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) {
    gzFile gz = gzopen(path.c_str(), "wb");
    gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
    gzclose(gz);
  } else {
    std::ofstream(path, std::ios::binary) << text;
  }
}

data::ReaderOptions options(const std::string& inputs, int rank, int nranks) {
  data::ReaderOptions o;
  o.inputs = inputs;
  o.rank = rank;
  o.nranks = nranks;
  o.featurizer.input_dim = 1 << 20;
  o.block_bytes = 4096;  // small buffers: many refills, cursors between them
  o.warn = [](const std::string&) {};
  return o;
}

// A row's identity: hash of its features and label.
uint64_t row_hash(const data::Batch& b, size_t i) {
  uint64_t h = util::hash64(static_cast<uint64_t>(b.labels[i] * 2), 1);
  for (int k = 0; k < data::Featurizer::kIdsPerRow; ++k)
    h = util::hash64(b.ids[i * data::Featurizer::kIdsPerRow + k], h);
  return h;
}

void read_rows(data::CriteoReader& r, size_t batch, size_t max_batches, std::vector<uint64_t>& out) {
  data::Batch b;
  for (size_t k = 0; k < max_batches; ++k) {
    const size_t n = r.next_batch(b, batch);
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) out.push_back(row_hash(b, i));
  }
}

// The whole check for one input set. Every rank runs the old job's simulation itself
// (deterministic), then reads its new share; the shares are gathered everywhere.
void check_elastic(const std::string& inputs) {
  collective::Comm& comm = *g_comm;
  const int P = comm.size(), P_old = P == 2 ? 3 : 2;

  std::vector<uint64_t> expected;
  {
    data::CriteoReader all(options(inputs, 0, 1));
    read_rows(all, 500, SIZE_MAX, expected);
  }
  // The old job: rank r stopped after 2r+1 batches of 97 rows; its remainders are
  // written the way Checkpointing::save stores them and decoded as resume does.
  std::vector<uint64_t> consumed;
  checkpoint::TrainState st;
  st.nranks = static_cast<uint64_t>(P_old);
  for (int r = 0; r < P_old; ++r) {
    data::CriteoReader old(options(inputs, r, P_old));
    read_rows(old, 97, static_cast<size_t>(2 * r + 1), consumed);
    for (const auto& p : old.remaining())
      st.remainders.push_back({static_cast<uint64_t>(r), p.piece.file, p.piece.begin, p.piece.end, p.piece.stride,
                               p.piece.phase, p.offset, p.line_index});
  }
  st.window_loss_sum.assign(static_cast<size_t>(P_old), 0.0);
  st.window_samples.assign(static_cast<size_t>(P_old), 0);
  const checkpoint::TrainState back = checkpoint::decode_state(checkpoint::encode_state(st));
  std::vector<data::PieceRemainder> all;
  for (const auto& r : back.remainders) all.push_back(train::piece_remainder(r));

  // The new job: this rank's share of the rest of the epoch.
  data::CriteoReader reader(options(inputs, comm.rank(), P));
  reader.assign_remaining(data::replan_remainders(all, reader.files(), comm.rank(), P));
  std::vector<uint64_t> mine;
  read_rows(reader, 64, SIZE_MAX, mine);
  std::vector<uint64_t> got = comm.allgatherv(mine);
  const uint64_t rest = got.size();
  got.insert(got.end(), consumed.begin(), consumed.end());
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got.size(), expected.size()) << inputs << ": " << consumed.size() << " rows before the stop, " << rest
                                         << " after, " << expected.size() << " in the epoch";
  EXPECT_TRUE(got == expected) << inputs << ": rows lost or read twice";
  EXPECT_GT(consumed.size(), 0u);
  EXPECT_GT(rest, 0u);

  // The next epoch is the normal plan for P ranks again.
  reader.rewind();
  std::vector<uint64_t> epoch2;
  read_rows(reader, 64, SIZE_MAX, epoch2);
  std::vector<uint64_t> e2 = comm.allgatherv(epoch2);
  std::sort(e2.begin(), e2.end());
  EXPECT_TRUE(e2 == expected) << inputs << ": the epoch after the resume is not the whole input";
}

}  // namespace

TEST(ElasticResume, OnePlainFile) { check_elastic(kFixture); }

TEST(ElasticResume, PlainAndGzip) {
  TempDir dir("st_elastic_");  // one per rank: each writes its own copy
  const auto lines = fixture_lines();
  const std::string a = (dir.path / "a.tsv").string(), b = (dir.path / "b.tsv.gz").string();
  write_file(a, lines, 0, 4000);
  write_file(b, lines, 4000, lines.size());
  check_elastic(a + "," + b);
}

TEST(ElasticResume, ThreeFiles) {
  TempDir dir("st_elastic_");  // one per rank: each writes its own copy
  const auto lines = fixture_lines();
  const std::string a = (dir.path / "a.tsv").string(), b = (dir.path / "b.tsv").string(),
                    c = (dir.path / "c.tsv.gz").string();
  write_file(a, lines, 0, 1000);
  write_file(b, lines, 1000, 4500);
  write_file(c, lines, 4500, lines.size());
  check_elastic(a + "," + b + "," + c);
}

int main(int argc, char** argv) {
  collective::Comm& comm = collective::Comm::world(&argc, &argv);
  g_comm = &comm;
  ::testing::InitGoogleTest(&argc, argv);
  if (!comm.is_root()) {  // one report is enough
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  const uint64_t any = comm.sum(static_cast<uint64_t>(failed != 0));
  if (comm.is_root() && any) std::cerr << any << " rank(s) failed\n";
  comm.finalize();
  return any ? 1 : 0;
}
