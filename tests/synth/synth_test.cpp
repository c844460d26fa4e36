// Tests of the synthetic Criteo-like generator: format, marginals against the
// measured profile, click rate, planted AUC, determinism, gzip, throughput.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "../common/temp_dir.h"
#include "sparsetrain/data/criteo_row.h"
#include "sparsetrain/synth/criteo_profile.h"
#include "sparsetrain/synth/synth.h"

namespace fs = std::filesystem;
using namespace sparsetrain::synth;

namespace {

fs::path temp_dir() {
  static const fs::path dir = [] { return sparsetrain::testing::make_temp_dir("sparsetrain_synth_test_"); }();
  return dir;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string read_gz(const fs::path& p) {
  gzFile f = gzopen(p.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + p.string());
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines = split(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

bool is_int(const std::string& s) {
  size_t i = s.size() > 1 && s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

bool is_hex8(const std::string& s) {
  return s.size() == 8 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// One generated data set, parsed.
struct Parsed {
  std::vector<std::vector<std::string>> rows;
  std::vector<float> labels, probs;
  SynthReport report;
};

Parsed generate(Profile profile, uint64_t rows, uint64_t seed, const std::string& name) {
  SynthOptions o;
  o.rows = rows;
  o.seed = seed;
  o.profile = profile;
  o.output = (temp_dir() / (name + ".tsv")).string();
  o.probabilities_out = (temp_dir() / (name + ".prob")).string();
  Parsed p;
  p.report = write_synthetic(o);
  for (const std::string& line : lines_of(read_file(o.output))) {
    p.rows.push_back(split(line, '\t'));
    p.labels.push_back(p.rows.back()[0] == "1" ? 1.0f : 0.0f);
  }
  for (const std::string& line : lines_of(read_file(o.probabilities_out))) p.probs.push_back(std::stof(line));
  return p;
}

// 50k-row Kaggle-profile data set shared by several tests.
const Parsed& kaggle50k() {
  static const Parsed p = generate(Profile::Kaggle, 50000, 7, "kaggle50k");
  return p;
}
const Parsed& tb50k() {
  static const Parsed p = generate(Profile::Tb, 50000, 7, "tb50k");
  return p;
}

double slog(double x) { return x < 0 ? -std::log1p(-x) : std::log1p(x); }

}  // namespace

const std::vector<std::pair<std::string, Profile>> kAllNames = {{"kaggle", Profile::Kaggle},
                                                                {"1tb", Profile::Tb},
                                                                {"lowctr", Profile::Tb},
                                                                {"crosses", Profile::Crosses},
                                                                {"nonmonotone", Profile::Nonmonotone},
                                                                {"heavytail", Profile::Heavytail},
                                                                {"lighttail", Profile::Lighttail}};

TEST(Synth, ParseProfile) {
  for (const auto& [name, profile] : kAllNames) EXPECT_EQ(parse_profile(name), profile) << name;
  try {
    parse_profile("criteo");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    for (const auto& [name, profile] : kAllNames) EXPECT_NE(msg.find(name), std::string::npos) << name;
  }
  EXPECT_EQ(profile_names(), "kaggle, 1tb, lowctr, crosses, nonmonotone, heavytail, lighttail");
}

TEST(Synth, FormatRowsAndColumns) {
  const Parsed& p = kaggle50k();
  ASSERT_EQ(p.rows.size(), 50000u);
  EXPECT_EQ(p.report.rows, 50000u);
  EXPECT_EQ(p.probs.size(), 50000u);
  for (const auto& r : p.rows) {
    ASSERT_EQ(r.size(), 40u);
    ASSERT_TRUE(r[0] == "0" || r[0] == "1") << r[0];
    for (int j = 1; j <= 13; ++j) ASSERT_TRUE(r[j].empty() || is_int(r[j])) << "I" << j << "=" << r[j];
    for (int j = 14; j < 40; ++j) ASSERT_TRUE(r[j].empty() || is_hex8(r[j])) << "C" << j - 13 << "=" << r[j];
  }
  for (float q : p.probs) ASSERT_TRUE(q >= 0.0f && q <= 1.0f);
}

TEST(Synth, WithoutLabelHas39ColumnsAndSameFeatures) {
  SynthOptions o;
  o.rows = 3000;
  o.seed = 7;
  o.with_label = false;
  o.output = (temp_dir() / "nolabel.tsv").string();
  write_synthetic(o);
  o.with_label = true;
  o.output = (temp_dir() / "label.tsv").string();
  write_synthetic(o);
  const auto unl = lines_of(read_file(temp_dir() / "nolabel.tsv"));
  const auto lab = lines_of(read_file(temp_dir() / "label.tsv"));
  ASSERT_EQ(unl.size(), 3000u);
  ASSERT_EQ(lab.size(), 3000u);
  for (size_t i = 0; i < unl.size(); ++i) {
    ASSERT_EQ(split(unl[i], '\t').size(), 39u);
    ASSERT_EQ(lab[i].substr(2), unl[i]);  // same features, label column dropped
  }
}

TEST(Synth, MissingRatesMatchProfile) {
  const Parsed& p = kaggle50k();
  const double n = static_cast<double>(p.rows.size());
  for (int f = 0; f < kNumIntFields; ++f) {
    double missing = 0;
    for (const auto& r : p.rows) missing += r[1 + f].empty();
    EXPECT_NEAR(missing / n, int_field_profiles()[f].missing_rate, 0.02) << "I" << f + 1;
  }
  for (int f = 0; f < kNumCatFields; ++f) {
    double missing = 0;
    for (const auto& r : p.rows) missing += r[14 + f].empty();
    EXPECT_NEAR(missing / n, cat_field_profiles()[f].missing_rate, 0.02) << "C" << f + 1;
  }
  // Co-missing groups: I1 and I10 are missing in exactly the same rows.
  for (const auto& r : p.rows) ASSERT_EQ(r[1].empty(), r[10].empty());
}

TEST(Synth, IntegerQuantilesMatchProfile) {
  const Parsed& p = kaggle50k();
  for (int f = 0; f < kNumIntFields; ++f) {
    std::vector<long long> v;
    for (const auto& r : p.rows)
      if (!r[1 + f].empty()) v.push_back(std::stoll(r[1 + f]));
    std::sort(v.begin(), v.end());
    ASSERT_FALSE(v.empty());
    const auto& q = int_field_profiles()[f].quantiles;
    for (int k : {3, 6, 10}) {  // 20%, 50%, 90%
      const double emp = static_cast<double>(v[static_cast<size_t>(kQuantileProbs[k] * (v.size() - 1))]);
      EXPECT_NEAR(slog(emp), slog(static_cast<double>(q[k])), 0.5)
          << "I" << f + 1 << " quantile " << kQuantileProbs[k] << ": " << emp << " vs " << q[k];
    }
  }
  // I2 has negative values, as in the real data.
  bool negative = false;
  for (const auto& r : p.rows) negative |= !r[2].empty() && r[2][0] == '-';
  EXPECT_TRUE(negative);
}

TEST(Synth, ClickRateInProfileRange) {
  const double kaggle = kaggle50k().report.positives_rate;
  const double tb = tb50k().report.positives_rate;
  std::printf("[synth] click rate: kaggle %.4f, 1tb %.4f\n", kaggle, tb);
  EXPECT_GT(kaggle, 0.22);
  EXPECT_LT(kaggle, 0.29);
  EXPECT_GT(tb, 0.02);
  EXPECT_LT(tb, 0.045);
  // The report's rate is the rate of the labels written.
  double pos = 0;
  for (float l : kaggle50k().labels) pos += l;
  EXPECT_DOUBLE_EQ(pos / 50000.0, kaggle);
}

TEST(Synth, BestReachableAucIsRealistic) {
  const double kaggle = best_reachable_auc(kaggle50k().labels, kaggle50k().probs);
  const double tb = best_reachable_auc(tb50k().labels, tb50k().probs);
  std::printf("[synth] best reachable AUC (50k rows): kaggle %.4f, 1tb %.4f\n", kaggle, tb);
  EXPECT_GE(kaggle, 0.75);
  EXPECT_LE(kaggle, 0.86);
  EXPECT_GE(tb, 0.75);
  EXPECT_LE(tb, 0.86);
}

TEST(Synth, AucHelperIsExactWithTies) {
  EXPECT_DOUBLE_EQ(best_reachable_auc({0, 0, 1, 1}, {0.1f, 0.2f, 0.3f, 0.4f}), 1.0);
  EXPECT_DOUBLE_EQ(best_reachable_auc({1, 1, 0, 0}, {0.1f, 0.2f, 0.3f, 0.4f}), 0.0);
  EXPECT_DOUBLE_EQ(best_reachable_auc({0, 1, 0, 1}, {0.5f, 0.5f, 0.5f, 0.5f}), 0.5);
  // pos {0.3, 0.5}, neg {0.3, 0.1}: pairs (0.3,0.3)=1/2, (0.3,0.1)=1, (0.5,*)=2 -> 3.5/4
  EXPECT_DOUBLE_EQ(best_reachable_auc({1, 1, 0, 0}, {0.3f, 0.5f, 0.3f, 0.1f}), 0.875);
  EXPECT_TRUE(std::isnan(best_reachable_auc({1, 1}, {0.2f, 0.3f})));
  EXPECT_TRUE(std::isnan(best_reachable_auc({1, 0, 1}, {0.2f, NAN, 0.3f})));  // util::exact_auc's guard
  EXPECT_THROW(best_reachable_auc({1, 0}, {0.2f}), std::invalid_argument);
}

TEST(Synth, CategoricalsAreHeavyTailed) {
  const Parsed& p = kaggle50k();
  for (int f : {2, 6, 10, 14, 23}) {  // C3, C7, C11, C15, C24: thousands to millions of values
    std::unordered_map<std::string, int> count;
    for (const auto& r : p.rows)
      if (!r[14 + f].empty()) ++count[r[14 + f]];
    std::vector<int> c;
    for (const auto& kv : count) c.push_back(kv.second);
    std::sort(c.begin(), c.end());
    const double top = c.back(), median = c[c.size() / 2];
    EXPECT_GT(top, 20.0 * median) << "C" << f + 1;
    EXPECT_GT(c.size(), 500u) << "C" << f + 1;  // a long tail of distinct values
  }
}

TEST(Synth, DeterministicForSeedRegardlessOfThreads) {
  SynthOptions o;
  o.rows = 40000;  // more than two chunks
  o.seed = 42;
  o.threads = 1;
  o.output = (temp_dir() / "det_a.tsv").string();
  write_synthetic(o);
  o.threads = 3;
  o.output = (temp_dir() / "det_b.tsv").string();
  write_synthetic(o);
  o.seed = 43;
  o.output = (temp_dir() / "det_c.tsv").string();
  write_synthetic(o);
  const std::string a = read_file(temp_dir() / "det_a.tsv");
  const std::string b = read_file(temp_dir() / "det_b.tsv");
  const std::string c = read_file(temp_dir() / "det_c.tsv");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(lines_of(c).size(), 40000u);
}

TEST(Synth, DifferentSeedsShareTheVocabulary) {
  // Train/test files come from the same world: the frequent values coincide.
  SynthOptions o;
  o.rows = 5000;
  o.seed = 1;
  o.output = (temp_dir() / "vocab_a.tsv").string();
  write_synthetic(o);
  o.seed = 2;
  o.output = (temp_dir() / "vocab_b.tsv").string();
  write_synthetic(o);
  auto top_c1 = [](const fs::path& path) {
    std::map<std::string, int> count;
    for (const auto& line : lines_of(read_file(path))) ++count[split(line, '\t')[14]];
    return std::max_element(count.begin(), count.end(),
                            [](const auto& x, const auto& y) { return x.second < y.second; })
        ->first;
  };
  EXPECT_EQ(top_c1(temp_dir() / "vocab_a.tsv"), top_c1(temp_dir() / "vocab_b.tsv"));
}

TEST(Synth, GzipMatchesPlain) {
  SynthOptions o;
  o.rows = 20000;
  o.seed = 5;
  o.output = (temp_dir() / "gz_plain.tsv").string();
  const SynthReport plain = write_synthetic(o);
  o.output = (temp_dir() / "gz_packed.tsv.gz").string();
  const SynthReport packed = write_synthetic(o);
  const std::string text = read_file(temp_dir() / "gz_plain.tsv");
  EXPECT_EQ(read_gz(temp_dir() / "gz_packed.tsv.gz"), text);
  EXPECT_EQ(plain.bytes, text.size());
  EXPECT_EQ(packed.bytes, text.size());
  EXPECT_LT(fs::file_size(temp_dir() / "gz_packed.tsv.gz"), text.size() / 2);
}

TEST(Synth, CardinalityScaleGrowsVocabularies) {
  auto distinct_c3 = [](double scale, const std::string& name) {
    SynthOptions o;
    o.rows = 20000;
    o.cardinality_scale = scale;
    o.output = (temp_dir() / name).string();
    const SynthReport rep = write_synthetic(o);
    EXPECT_GT(rep.positives_rate, 0.2);  // recalibrated for the new vocabularies
    EXPECT_LT(rep.positives_rate, 0.31);
    std::map<std::string, int> count;
    for (const auto& line : lines_of(read_file(o.output))) ++count[split(line, '\t')[16]];
    return count.size();
  };
  EXPECT_LT(distinct_c3(0.001, "scale_small.tsv"), distinct_c3(1.0, "scale_one.tsv") / 2);
}

TEST(Synth, IoFailureNamesThePath) {
  SynthOptions o;
  o.rows = 10;
  o.output = "/nonexistent_dir_for_synth_test/out.tsv";
  try {
    write_synthetic(o);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(o.output), std::string::npos) << e.what();
  }
}

// The sampler (no text) gives exactly the fields the reader parses from the file, for both
// profiles and a scaled vocabulary: the SMPI driver's ids are the trainer's ids.
TEST(Synth, RowSamplerEqualsParsedFile) {
  // Heavytail and lighttail change the features (Zipf tails), so check them too.
  for (const auto& [profile, scale] : {std::pair{Profile::Tb, 1.0}, std::pair{Profile::Kaggle, 3.0},
                                       std::pair{Profile::Heavytail, 1.0}, std::pair{Profile::Lighttail, 1.0}}) {
    SynthOptions o;
    o.rows = 3000;
    o.seed = 17;
    o.profile = profile;
    o.cardinality_scale = scale;
    o.output = (temp_dir() / "sampler.tsv").string();
    write_synthetic(o);
    const RowSampler sampler(profile, scale);
    std::istringstream lines(read_file(o.output));
    std::string line;
    sparsetrain::data::CriteoRow parsed, sampled;
    sparsetrain::data::ParseFailure failure;
    uint64_t row = 0, present_cats = 0;
    while (std::getline(lines, line)) {
      ASSERT_TRUE(sparsetrain::data::parse_criteo_line(line.data(), line.size(), sparsetrain::data::LabelMode::Required,
                                                       parsed, failure));
      sampler.sample(o.seed, row, sampled);
      for (int f = 0; f < kNumIntFields; ++f) {
        ASSERT_EQ(sampled.int_present[f], parsed.int_present[f]) << "row " << row << " I" << f + 1;
        ASSERT_EQ(sampled.int_value[f], parsed.int_value[f]) << "row " << row << " I" << f + 1;
      }
      for (int f = 0; f < kNumCatFields; ++f) {
        ASSERT_EQ(sampled.cat_present[f], parsed.cat_present[f]) << "row " << row << " C" << f + 1;
        ASSERT_EQ(sampled.cat_value[f], parsed.cat_value[f]) << "row " << row << " C" << f + 1;
        present_cats += parsed.cat_present[f];
      }
      EXPECT_EQ(sampled.label, -1);
      ++row;
    }
    EXPECT_EQ(row, o.rows);
    EXPECT_GT(present_cats, o.rows * 20);  // the comparison saw real values, not only missing ones
  }
}

// The kaggle and 1tb bytes are pinned: adding profiles must not change them.
// CRC-32s of 20,000 rows, seed 3, computed with the generator before the
// profiles of issue 17 existed.
TEST(Synth, KaggleAndTbBytesArePinned) {
  for (const auto& [profile, tsv_crc, prob_crc] :
       {std::tuple{Profile::Kaggle, 0x5c3da3deu, 0x0caabb24u}, std::tuple{Profile::Tb, 0x55908f97u, 0x957aa2a6u}}) {
    SynthOptions o;
    o.rows = 20000;
    o.seed = 3;
    o.profile = profile;
    o.output = (temp_dir() / "pin.tsv").string();
    o.probabilities_out = (temp_dir() / "pin.prob").string();
    write_synthetic(o);
    const std::string text = read_file(o.output), probs = read_file(o.probabilities_out);
    EXPECT_EQ(crc32(0, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())), tsv_crc);
    EXPECT_EQ(crc32(0, reinterpret_cast<const Bytef*>(probs.data()), static_cast<uInt>(probs.size())), prob_crc);
  }
}

// --- profiles that differ in kind (issue 17) --------------------------------
const std::vector<Profile> kKindProfiles = {Profile::Crosses, Profile::Nonmonotone, Profile::Heavytail,
                                            Profile::Lighttail};

const Parsed& profile50k(Profile profile) {
  static std::map<Profile, Parsed> cache;
  auto it = cache.find(profile);
  if (it == cache.end())
    it = cache.emplace(profile, generate(profile, 50000, 7, "kind" + std::to_string(static_cast<int>(profile)))).first;
  return it->second;
}

double logit(double p) {
  p = std::clamp(p, 1e-6, 1.0 - 1e-6);
  return std::log(p / (1.0 - p));
}

TEST(Synth, KindProfilesAreCalibrated) {
  for (Profile profile : kKindProfiles) {
    const Parsed& p = profile50k(profile);
    const double rate = p.report.positives_rate, auc = best_reachable_auc(p.labels, p.probs);
    std::printf("[synth] profile %d: click rate %.4f, best reachable AUC %.4f\n", static_cast<int>(profile), rate, auc);
    // Sampling sd of the rate on 50k rows is 0.002, of the AUC ~0.003.
    EXPECT_NEAR(rate, 0.256, 0.012) << static_cast<int>(profile);
    EXPECT_NEAR(auc, 0.805, 0.015) << static_cast<int>(profile);
  }
}

// Same seed, different planted models: the true probabilities are far from
// a monotone function of each other.
TEST(Synth, KindProfilesDiffer) {
  std::vector<Profile> all = kKindProfiles;
  all.push_back(Profile::Kaggle);
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t j = i + 1; j < all.size(); ++j) {
      const Parsed &a = all[i] == Profile::Kaggle ? kaggle50k() : profile50k(all[i]),
                   &b = all[j] == Profile::Kaggle ? kaggle50k() : profile50k(all[j]);
      ASSERT_EQ(a.probs.size(), b.probs.size());
      double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
      size_t labels_differ = 0;
      for (size_t r = 0; r < a.probs.size(); ++r) {
        const double x = logit(a.probs[r]), y = logit(b.probs[r]);
        sa += x, sb += y, saa += x * x, sbb += y * y, sab += x * y;
        labels_differ += a.labels[r] != b.labels[r];
      }
      const double n = static_cast<double>(a.probs.size());
      const double corr =
          (sab / n - sa / n * sb / n) / std::sqrt((saa / n - sa / n * sa / n) * (sbb / n - sb / n * sb / n));
      std::printf("[synth] profiles %d vs %d: logit correlation %.3f, labels differ %.3f\n", static_cast<int>(all[i]),
                  static_cast<int>(all[j]), corr, static_cast<double>(labels_differ) / n);
      EXPECT_LT(corr, 0.8) << static_cast<int>(all[i]) << " vs " << static_cast<int>(all[j]);
      EXPECT_GT(labels_differ, n * 0.10);  // labels share their uniforms: equal models, equal labels
    }
  }
}

// Share of rows whose C3 value occurs at most twice in the 50k rows.
double rare_share(const Parsed& p) {
  std::unordered_map<std::string, int> count;
  for (const auto& r : p.rows)
    if (!r[14 + 2].empty()) ++count[r[14 + 2]];
  size_t rare = 0;
  for (const auto& r : p.rows) rare += !r[14 + 2].empty() && count[r[14 + 2]] <= 2;
  return static_cast<double>(rare) / static_cast<double>(p.rows.size());
}

TEST(Synth, HeavytailHasMoreRareValuesThanLighttail) {
  const double heavy = rare_share(profile50k(Profile::Heavytail)), kaggle = rare_share(kaggle50k()),
               light = rare_share(profile50k(Profile::Lighttail));
  std::printf("[synth] rows with a rare C3 value: heavytail %.3f, kaggle %.3f, lighttail %.3f\n", heavy, kaggle, light);
  EXPECT_GT(heavy, kaggle + 0.1);
  EXPECT_GT(kaggle, light + 0.1);
}

TEST(Synth, CrossesCarryMoreOfTheSignal) {
  const double kaggle = planted_cross_share(Profile::Kaggle), crosses = planted_cross_share(Profile::Crosses);
  std::printf("[synth] variance share of the crosses: kaggle %.3f, crosses %.3f\n", kaggle, crosses);
  EXPECT_GT(crosses, 2.0 * kaggle);
  EXPECT_GT(crosses, 0.4);
}

// Non-monotone integer effects: per integer field, the mean true logit per
// half-log value bin (bins with >= 300 rows) both rises and falls by a clear
// margin. Returns the number of such fields.
int nonmonotone_fields(const Parsed& p) {
  int count = 0;
  for (int f = 0; f < kNumIntFields; ++f) {
    std::map<int, std::pair<double, int>> bins;
    for (size_t r = 0; r < p.rows.size(); ++r) {
      const std::string& v = p.rows[r][1 + f];
      if (v.empty()) continue;
      auto& b = bins[static_cast<int>(std::floor(2.0 * slog(std::stod(v))))];
      b.first += logit(p.probs[r]);
      ++b.second;
    }
    double lo = 1e9, hi = -1e9, rise = 0, fall = 0;
    for (const auto& [bin, b] : bins) {
      if (b.second < 300) continue;
      const double m = b.first / b.second;
      rise = std::max(rise, m - lo), fall = std::max(fall, hi - m);
      lo = std::min(lo, m), hi = std::max(hi, m);
    }
    count += std::min(rise, fall) > 0.5;
  }
  return count;
}

TEST(Synth, NonmonotoneIntegerEffects) {
  const int nonmono = nonmonotone_fields(profile50k(Profile::Nonmonotone)), kaggle = nonmonotone_fields(kaggle50k());
  std::printf("[synth] integer fields with a rise and a fall: nonmonotone %d, kaggle %d\n", nonmono, kaggle);
  EXPECT_GE(nonmono, 6);
  EXPECT_LE(kaggle, 2);
}

TEST(Synth, ThroughputOneMillionRows) {
  SynthOptions o;
  o.rows = 1000000;
  o.seed = 3;
  o.output = (temp_dir() / "throughput.tsv").string();
  for (int threads : {1, 0}) {
    o.threads = threads;
    const SynthReport rep = write_synthetic(o);
    const double mbs = static_cast<double>(rep.bytes) / 1e6 / rep.seconds;
    std::printf("[synth] 1M rows plain, threads=%d: %.1f MB in %.2f s = %.1f MB/s\n", threads,
                static_cast<double>(rep.bytes) / 1e6, rep.seconds, mbs);
    RecordProperty(threads == 1 ? "mb_per_s_1thread" : "mb_per_s_default", std::to_string(mbs));
    EXPECT_EQ(rep.rows, 1000000u);
    EXPECT_GT(mbs, 5.0);  // sanity only; the target (>= 50 MB/s per core) is reported, not asserted
  }
  fs::remove(o.output);
}

// Removes the scratch directory after all tests of this binary.
class SynthEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(temp_dir(), ec);
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new SynthEnvironment);
