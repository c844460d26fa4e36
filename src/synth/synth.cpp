// Synthetic Criteo-like data with a planted click model (see synth.h).
//
// Each row is generated from its own RNG, seeded from (seed, row index), so the
// bytes depend on the seed only, never on the thread count or chunking. Rows
// are produced in fixed-size chunks by worker threads and written in order.
#include "sparsetrain/synth/synth.h"

#include <unistd.h>

#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <numbers>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "sparsetrain/synth/criteo_profile.h"
#include "sparsetrain/util/auc.h"
#include "sparsetrain/util/commit_file.h"
#include "sparsetrain/util/hash.h"
#include "sparsetrain/util/random.h"
#include "zipf.h"

namespace sparsetrain::synth {

namespace {

using util::hash64;
using util::Rng;

// The "world" seed: fixes the planted model and the value -> hex mapping, so
// that files written with different seeds share vocabulary and click model.
constexpr uint64_t kWorld = 0xc817e0da7a5eed01ULL;
// Sub-stream ids for derive_seed / hash64.
constexpr uint64_t kRowStream = 1, kCalibStream = 2;
constexpr uint64_t kHexSalt = 11, kCatEffectSalt = 12, kIntEffectSalt = 13, kPairSalt = 14, kIntCatSalt = 15,
                   kIntWaveSalt = 16;
constexpr uint64_t kMissingKey = ~0ULL;  // effect key of a missing value

// Target click rates: Kaggle train.txt has 25.6% positives, Criteo 1TB ~3%.
// Target best reachable AUC (every profile): good Criteo models reach
// ~0.80-0.81, so the ceiling is planted just above what a good learner can extract.
constexpr double kTargetRateKaggle = 0.256, kTargetRateTb = 0.03;
constexpr double kTargetAuc = 0.805;
constexpr uint64_t kCalibRows = 20000;
constexpr uint64_t kChunkRows = 16384;

// Gaussian-ish N(0,1) from a hash: Irwin-Hall sum of four 16-bit uniforms
// (mean 2, variance 1/3), centred and scaled. Cheap and deterministic.
inline double hash_gauss(uint64_t h) {
  const double s =
      static_cast<double>((h & 0xffff) + ((h >> 16) & 0xffff) + ((h >> 32) & 0xffff) + (h >> 48)) * (1.0 / 65536.0);
  return (s - 2.0) * 1.7320508075688772;
}

// Signed log: compresses the heavy-tailed integers, works for I2's negatives.
inline double slog(double x) { return x < 0 ? -std::log1p(-x) : std::log1p(x); }
inline double slog_inv(double y) { return y < 0 ? -std::expm1(-y) : std::expm1(y); }
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// --- planted model parameters (before the global scale `alpha`) ------------
// Per categorical field: scale of the per-value effects.
constexpr std::array<double, kNumCatFields> kCatSigma = {0.30, 0.40, 0.25, 0.25, 0.30, 0.30, 0.30, 0.30, 0.20,
                                                         0.30, 0.35, 0.25, 0.35, 0.50, 0.30, 0.25, 0.40, 0.30,
                                                         0.30, 0.30, 0.25, 0.20, 0.50, 0.30, 0.30, 0.30};
// Per integer field: slope of the smooth (log-scale) effect.
constexpr std::array<double, kNumIntFields> kIntSlope = {0.30, 0.05, -0.10, 0.10, -0.12, 0.05, 0.15,
                                                         0.00, 0.05, 0.30,  0.25, 0.10,  -0.10};

// Pairwise interactions between categorical fields (0-based C indices).
// The first six are the kaggle/1tb model's; `crosses` uses all of them.
constexpr std::array<std::pair<int, int>, 24> kPairs = {{{0, 7},   {1, 13},  {4, 22},  {5, 16},  {9, 18},  {12, 25},
                                                         {0, 1},   {2, 10},  {3, 14},  {6, 12},  {7, 17},  {8, 19},
                                                         {10, 23}, {11, 20}, {13, 16}, {14, 24}, {15, 17}, {1, 6},
                                                         {4, 9},   {18, 21}, {2, 23},  {5, 13},  {17, 25}, {0, 10}}};
// Integer-bin x categorical crosses (0-based I and C indices).
struct IntCatCross {
  int int_field, cat_field;
};
constexpr std::array<IntCatCross, 4> kIntCatCrosses = {{{0, 1}, {4, 6}, {9, 12}, {10, 17}}};

// What makes one profile's data differ from another's in kind: the tails of
// the categorical fields, where the signal sits (main effects or crosses;
// head or tail values) and the shape of the integer effects. One instance
// per profile (kModels); the world scales all effects together by the
// calibrated alpha, so only their relative sizes matter here.
struct PlantedModel {
  double target_rate;      // mean click probability after calibration
  double zipf_s_factor;    // multiplies each field's measured Zipf exponent (< 1: heavier tails)
  double cat_sigma_scale;  // multiplies kCatSigma
  // Categorical effect weight 1 / (1 + rank_decay * bit_width(rank)): > 0
  // puts the signal in frequent values; 0 makes rare values as strong.
  double rank_decay;
  double int_slope_scale;  // multiplies kIntSlope (the monotone part)
  double int_bin_sigma;    // per-half-log-bin random wiggle
  double int_wave;         // amplitude of the non-monotone integer shapes (0: none)
  size_t num_pairs;        // the first num_pairs of kPairs
  uint64_t pair_ranks;     // ranks are clamped to this so crosses are learnable
  double pair_sigma;
  size_t num_int_cat;  // the first num_int_cat of kIntCatCrosses
  uint64_t int_cat_ranks;
  double int_cat_sigma;
};

constexpr PlantedModel kKaggleModel = {kTargetRateKaggle, 1.0, 1.0, 0.25, 1.0, 0.20, 0.0, 6, 64, 0.35, 0, 0, 0.0};
constexpr PlantedModel kTbModel = [] {  // Criteo 1TB: only the click rate differs
  PlantedModel m = kKaggleModel;
  m.target_rate = kTargetRateTb;
  return m;
}();
// Much of the signal in crosses: 24 pairs with more ranks and larger effects,
// integer-bin x categorical crosses, main effects at 0.7: ~80% of the planted
// logit's variance is in crosses (kaggle: ~29%).
constexpr PlantedModel kCrossesModel = {kTargetRateKaggle, 1.0, 0.7, 0.25, 0.7, 0.15, 0.0, 24, 128, 0.4, 4, 64, 0.4};
// Integer effects are bumps and waves in slog space with no monotone slope
// (a learner that assumes monotone features cannot fit them); weaker categoricals.
constexpr PlantedModel kNonmonotoneModel = {kTargetRateKaggle, 1.0, 0.5, 0.25, 0.0, 0.10, 0.6, 6, 64, 0.2, 0, 0, 0.0};
// More rows hold rare values, and rare values' effects do not shrink with
// rank: a real share of the signal is in values seen a handful of times.
constexpr PlantedModel kHeavytailModel = {kTargetRateKaggle, 0.8, 1.0, 0.0, 1.0, 0.20, 0.0, 6, 64, 0.35, 0, 0, 0.0};
// Fewer rare values, and effects concentrated in the head values.
constexpr PlantedModel kLighttailModel = {kTargetRateKaggle, 1.3, 1.0, 1.0, 1.0, 0.20, 0.0, 6, 64, 0.35, 0, 0, 0.0};

struct ProfileEntry {
  const char* name;
  Profile profile;
  const PlantedModel* model;
};
// Names accepted by parse_profile, in the order the error message lists them.
constexpr std::array<ProfileEntry, 7> kProfiles = {{{"kaggle", Profile::Kaggle, &kKaggleModel},
                                                    {"1tb", Profile::Tb, &kTbModel},
                                                    {"lowctr", Profile::Tb, &kTbModel},  // alias of 1tb
                                                    {"crosses", Profile::Crosses, &kCrossesModel},
                                                    {"nonmonotone", Profile::Nonmonotone, &kNonmonotoneModel},
                                                    {"heavytail", Profile::Heavytail, &kHeavytailModel},
                                                    {"lighttail", Profile::Lighttail, &kLighttailModel}}};

const PlantedModel& model_of(Profile profile) {
  for (const ProfileEntry& e : kProfiles)
    if (e.profile == profile) return *e.model;
  throw std::invalid_argument("synth: unknown profile");
}

// Precomputed per-field state (the profile scaled and turned into samplers).
struct CatField {
  double missing_rate;
  int group;
  uint64_t cardinality;
  double head_share;
  detail::ZipfSampler tail;  // ranks 2..cardinality; value index = rank - 1 (0 = head value)
};
struct IntField {
  double missing_rate;
  int group;
  std::array<double, kNumQuantiles> slog_q;  // quantiles in slog space
  std::array<int64_t, kNumQuantiles> q;
  double centre;  // slog of the median: the smooth effect is 0 there
  // Non-monotone shape (PlantedModel::int_wave): u = (slog v - lo) / span
  // maps the 5%..99.9% quantile range to [0, 1].
  double lo, span, wave_sign;
};

// One sampled row (values as field-local indices; -1 / missing flags).
struct Row {
  std::array<bool, kNumIntFields> int_present;
  std::array<int64_t, kNumIntFields> ints;
  std::array<bool, kNumCatFields> cat_present;
  std::array<uint64_t, kNumCatFields> cats;  // 0 = most frequent value
  double raw;                                // planted logit before alpha/bias
  double cross;                              // the part of raw from crosses (pairs, int x cat)
  double label_u;                            // uniform used to draw the label
};

class World {
 public:
  // calibrated = false: features only (RowSampler); the labels' alpha and bias stay unset.
  World(Profile profile, double cardinality_scale, bool calibrated = true) : m_(model_of(profile)) {
    const auto& ip = int_field_profiles();
    for (int f = 0; f < kNumIntFields; ++f) {
      IntField& F = ints_[f];
      F.missing_rate = ip[f].missing_rate;
      F.group = ip[f].missing_group;
      F.q = ip[f].quantiles;
      for (int i = 0; i < kNumQuantiles; ++i) F.slog_q[i] = slog(static_cast<double>(F.q[i]));
      F.centre = F.slog_q[kNumQuantiles / 2];
      F.lo = F.slog_q[1];
      F.span = std::max(F.slog_q[kNumQuantiles - 2] - F.lo, 1.0);
      F.wave_sign = (hash64(f, kWorld + kIntWaveSalt * 64) & 1) ? 1.0 : -1.0;
    }
    const auto& cp = cat_field_profiles();
    for (int f = 0; f < kNumCatFields; ++f) {
      CatField& F = cats_[f];
      F.missing_rate = cp[f].missing_rate;
      F.group = cp[f].missing_group;
      const double c = std::round(static_cast<double>(cp[f].cardinality) * cardinality_scale);
      F.cardinality = static_cast<uint64_t>(std::clamp(c, 2.0, 1e15));
      F.head_share = cp[f].head_share;
      F.tail = detail::ZipfSampler(2, F.cardinality, cp[f].zipf_s * m_.zipf_s_factor, cp[f].zipf_q);
    }
    if (calibrated) calibrate(m_.target_rate);
  }

  // Samples row `row` of the stream `stream_seed`: features, raw logit and the
  // label uniform. The RNG consumption order is fixed, so a row is a pure
  // function of (stream_seed, row). Terms are added in a fixed order too: the
  // kaggle and 1tb bytes must not change when a profile is added.
  void sample(uint64_t stream_seed, uint64_t row, Row& r) const {
    Rng rng(util::derive_seed(stream_seed, kRowStream, row));
    std::array<double, kNumMissingGroups> group_u;
    for (double& u : group_u) u = rng.uniform();
    auto missing_u = [&](int group) { return group == kNoGroup ? rng.uniform() : group_u[group]; };

    double raw = 0.0;
    for (int f = 0; f < kNumIntFields; ++f) {
      const IntField& F = ints_[f];
      r.int_present[f] = missing_u(F.group) >= F.missing_rate;
      r.ints[f] = r.int_present[f] ? sample_int(F, rng.uniform()) : 0;
      raw += int_effect(f, r.int_present[f], r.ints[f]);
    }
    for (int f = 0; f < kNumCatFields; ++f) {
      const CatField& F = cats_[f];
      const bool present = missing_u(F.group) >= F.missing_rate;
      r.cat_present[f] = present;
      uint64_t k = 0;
      if (present && rng.uniform() >= F.head_share) k = F.tail(rng) - 1;
      r.cats[f] = k;
      raw += cat_effect(f, present, k);
    }
    r.cross = 0.0;  // added to raw term by term, in the order kaggle's bytes were made with
    for (size_t p = 0; p < m_.num_pairs; ++p) {
      const double e = pair_effect(p, r);
      raw += e;
      r.cross += e;
    }
    for (size_t p = 0; p < m_.num_int_cat; ++p) {
      const double e = int_cat_effect(p, r);
      raw += e;
      r.cross += e;
    }
    // Nonlinear parts no additive model captures: a smooth product of two
    // integer features (I5, I7) and a threshold rule on I1 x I10.
    if (r.int_present[4] && r.int_present[6]) {
      raw += 0.5 * std::sin(1.2 * slog(static_cast<double>(r.ints[4]))) *
             std::tanh(slog(static_cast<double>(r.ints[6])) - 1.5);
    }
    if (r.int_present[0] && r.int_present[9] && r.ints[0] >= 2 && r.ints[9] == 0) raw += 0.5;
    r.raw = raw;
    r.label_u = rng.uniform();
  }

  double probability(double raw) const { return sigmoid(alpha_ * raw + bias_); }
  uint64_t cardinality(int f) const { return cats_[f].cardinality; }

  // Share of the planted logit's variance that sits in the crosses, on the
  // calibration sample (alpha scales both alike).
  double cross_share() const {
    double sr = 0, srr = 0, sc = 0, scc = 0;
    Row r;
    for (uint64_t i = 0; i < kCalibRows; ++i) {
      sample(util::derive_seed(kWorld, kCalibStream), i, r);
      sr += r.raw;
      srr += r.raw * r.raw;
      sc += r.cross;
      scc += r.cross * r.cross;
    }
    const double n = static_cast<double>(kCalibRows);
    return (scc / n - (sc / n) * (sc / n)) / (srr / n - (sr / n) * (sr / n));
  }

 private:
  // Half-log-bin of an integer value (also the int x cat cross key).
  static uint64_t int_bin(double sv) { return static_cast<uint64_t>(static_cast<int64_t>(std::floor(2.0 * sv)) + 16); }

  // A monotone slope plus a random wiggle per half-log bin, plus (int_wave > 0)
  // a shape with no monotone trend: waves on even fields, a peak (or dip) in the
  // middle of the range on odd ones.
  double int_effect(int f, bool present, int64_t v) const {
    const IntField& F = ints_[f];
    const uint64_t salt = kWorld + kIntEffectSalt * 64 + f;
    if (!present) return m_.int_bin_sigma * hash_gauss(hash64(kMissingKey, salt));
    const double sv = slog(static_cast<double>(v));
    double e =
        kIntSlope[f] * m_.int_slope_scale * (sv - F.centre) + m_.int_bin_sigma * hash_gauss(hash64(int_bin(sv), salt));
    if (m_.int_wave != 0.0) {
      const double u = std::clamp((sv - F.lo) / F.span, 0.0, 1.0);
      const double shape = f % 2 == 0 ? std::sin(3.0 * std::numbers::pi * u) : 1.0 - 8.0 * (u - 0.5) * (u - 0.5);
      e += m_.int_wave * F.wave_sign * shape;
    }
    return e;
  }

  double cat_effect(int f, bool present, uint64_t k) const {
    // rank_decay > 0: frequent values get larger effects (the weight decays with
    // log2(rank)), so most of the signal sits in values a model sees often enough to learn.
    const double w = present ? 1.0 / (1.0 + m_.rank_decay * std::bit_width(k)) : 1.0;
    const uint64_t key = present ? k : kMissingKey;
    return kCatSigma[f] * m_.cat_sigma_scale * w * hash_gauss(hash64(key, kWorld + kCatEffectSalt * 64 + f));
  }

  // Categorical pair p: one random effect per (rank a, rank b) cell, ranks
  // clamped to pair_ranks - 1 (pair_ranks = missing).
  double pair_effect(size_t p, const Row& r) const {
    const auto [a, b] = kPairs[p];
    const uint64_t n = m_.pair_ranks;
    const uint64_t ka = r.cat_present[a] ? std::min(r.cats[a], n - 1) : n;
    const uint64_t kb = r.cat_present[b] ? std::min(r.cats[b], n - 1) : n;
    return m_.pair_sigma * hash_gauss(hash64(ka * (n + 1) + kb, kWorld + kPairSalt * 64 + p));
  }

  // Integer half-log bin x categorical rank: the value's effect depends on the category.
  double int_cat_effect(size_t p, const Row& r) const {
    const auto [fi, fc] = kIntCatCrosses[p];
    const uint64_t n = m_.int_cat_ranks;
    const uint64_t bi = r.int_present[fi] ? std::min<uint64_t>(int_bin(slog(static_cast<double>(r.ints[fi]))), 63) : 64;
    const uint64_t kc = r.cat_present[fc] ? std::min(r.cats[fc], n - 1) : n;
    return m_.int_cat_sigma * hash_gauss(hash64(bi * (n + 1) + kc, kWorld + kIntCatSalt * 64 + p));
  }

 private:
  // Inverse CDF through the measured quantiles, linear in slog space between
  // knots; a flat segment (equal knots, e.g. the zeros of I10) is a point mass.
  static int64_t sample_int(const IntField& F, double u) {
    int i = 0;
    while (i < kNumQuantiles - 2 && u >= kQuantileProbs[i + 1]) ++i;
    if (F.q[i] == F.q[i + 1]) return F.q[i];
    const double t = (u - kQuantileProbs[i]) / (kQuantileProbs[i + 1] - kQuantileProbs[i]);
    const double y = F.slog_q[i] + t * (F.slog_q[i + 1] - F.slog_q[i]);
    const double v = std::floor(slog_inv(y) + 0.5);
    return std::clamp(static_cast<int64_t>(v), F.q[i], F.q[i + 1]);
  }

  // Finds alpha (overall effect scale) and bias so that, on a fixed calibration
  // sample, the mean click probability is the target rate and the expected AUC
  // of the true probability is kTargetAuc. Sampled with a fixed seed, so the
  // model is the same for every user seed.
  void calibrate(double target_rate) {
    std::vector<double> raw(kCalibRows);
    Row r;
    for (uint64_t i = 0; i < kCalibRows; ++i) {
      sample(util::derive_seed(kWorld, kCalibStream), i, r);
      raw[i] = r.raw;
    }
    std::sort(raw.begin(), raw.end());  // order by score is the same for any alpha > 0
    std::vector<double> p(raw.size());
    auto fit_bias = [&](double alpha) {
      double lo = -30.0, hi = 30.0;
      for (int it = 0; it < 45; ++it) {
        const double mid = 0.5 * (lo + hi);
        double sum = 0.0;
        for (double x : raw) sum += sigmoid(alpha * x + mid);
        (sum / static_cast<double>(raw.size()) < target_rate ? lo : hi) = mid;
      }
      return 0.5 * (lo + hi);
    };
    // E[#correctly ordered (pos, neg) pairs] / E[#(pos, neg) pairs] over the
    // Bernoulli labels; raw is sorted ascending (ties have measure zero here).
    auto expected_auc = [&](double alpha, double bias) {
      double neg_below = 0.0, num = 0.0, sp = 0.0, sq = 0.0, self = 0.0;
      for (double x : raw) {
        const double pi = sigmoid(alpha * x + bias);
        num += pi * neg_below;
        neg_below += 1.0 - pi;
        sp += pi;
        sq += 1.0 - pi;
        self += pi * (1.0 - pi);
      }
      return num / (sp * sq - self);
    };
    double lo = 0.01, hi = 20.0;  // AUC grows with alpha
    for (int it = 0; it < 28; ++it) {
      const double mid = 0.5 * (lo + hi);
      (expected_auc(mid, fit_bias(mid)) < kTargetAuc ? lo : hi) = mid;
    }
    alpha_ = 0.5 * (lo + hi);
    bias_ = fit_bias(alpha_);
  }

  const PlantedModel& m_;
  std::array<IntField, kNumIntFields> ints_;
  std::array<CatField, kNumCatFields> cats_;
  double alpha_ = 1.0, bias_ = 0.0;
};

// Calibration costs ~0.3 s; cache worlds per (profile, scale).
std::shared_ptr<const World> get_world(Profile profile, double scale) {
  static std::mutex mu;
  static std::map<std::pair<int, double>, std::shared_ptr<const World>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& w = cache[{static_cast<int>(profile), scale}];
  if (!w) w = std::make_shared<const World>(profile, scale);
  return w;
}

// The fixed (seed-independent) 32-bit value written for value index k of categorical
// field f; 32-bit like the real hashed data, so rare collisions inside huge fields are
// realistic.
inline uint32_t cat_hex(int f, uint64_t k) { return static_cast<uint32_t>(hash64(k, kWorld + kHexSalt * 64 + f)); }

// --- formatting ------------------------------------------------------------
inline char* put_uint(char* out, uint64_t v) {
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *out++ = tmp[--n];
  return out;
}
inline char* put_int(char* out, int64_t v) {
  if (v < 0) {
    *out++ = '-';
    return put_uint(out, static_cast<uint64_t>(-(v + 1)) + 1);
  }
  return put_uint(out, static_cast<uint64_t>(v));
}
inline char* put_hex8(char* out, uint32_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 7; i >= 0; --i) {
    out[i] = kDigits[v & 15];
    v >>= 4;
  }
  return out + 8;
}
// "%.6f" for p in [0, 1].
inline char* put_prob(char* out, double p) {
  const uint64_t v = static_cast<uint64_t>(p * 1e6 + 0.5);  // NOLINT(bugprone-incorrect-roundings): p >= 0
  *out++ = static_cast<char>('0' + v / 1000000);
  *out++ = '.';
  uint64_t frac = v % 1000000;
  for (int i = 5; i >= 0; --i) {
    out[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  return out + 6;
}

struct Chunk {
  std::string text, probs;
  uint64_t positives = 0;
};

// Upper bound of one row's length: 13 ints of <= 20 chars, 26 x 8 hex, label,
// 39 separators and the newline.
constexpr size_t kMaxRowBytes = 2 + 13 * 20 + 26 * 8 + 40;

Chunk make_chunk(const World& world, uint64_t seed, uint64_t begin, uint64_t end, bool with_label, bool with_probs) {
  Chunk c;
  c.text.resize((end - begin) * kMaxRowBytes);
  if (with_probs) c.probs.resize((end - begin) * 16);
  char* out = c.text.data();
  char* pout = c.probs.data();
  Row r;
  for (uint64_t i = begin; i < end; ++i) {
    world.sample(seed, i, r);
    const double p = world.probability(r.raw);
    const bool label = r.label_u < p;
    c.positives += label;
    if (with_label) {
      *out++ = label ? '1' : '0';
      *out++ = '\t';
    }
    for (int f = 0; f < kNumIntFields; ++f) {
      if (r.int_present[f]) out = put_int(out, r.ints[f]);
      *out++ = '\t';
    }
    for (int f = 0; f < kNumCatFields; ++f) {
      if (r.cat_present[f]) {
        out = put_hex8(out, cat_hex(f, r.cats[f]));
      }
      *out++ = f + 1 < kNumCatFields ? '\t' : '\n';
    }
    if (with_probs) {
      pout = put_prob(pout, p);
      *pout++ = '\n';
    }
  }
  c.text.resize(static_cast<size_t>(out - c.text.data()));
  c.probs.resize(static_cast<size_t>(pout - c.probs.data()));
  return c;
}

// --- output ------------------------------------------------------------------
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Plain or gzip file sink; every failure throws naming the path. It writes <path>.tmp.<pid>
// and commit() renames that to <path> (util::commit_file): a run that fails (a bad second path, a full disk)
// leaves an earlier file at <path> as it was and no partial file that would read as a
// smaller data set.
class Sink {
 public:
  explicit Sink(const std::string& path)
      : path_(path), tmp_(path + ".tmp." + std::to_string(::getpid())), gz_(ends_with(path, ".gz")) {
    if (gz_) {
      gzf_ = gzopen(tmp_.c_str(), "wb1");
      if (!gzf_) fail("cannot open for writing");
      gzbuffer(gzf_, 1 << 20);
    } else {
      f_ = std::fopen(tmp_.c_str(), "wb");
      if (!f_) fail(std::string("cannot open for writing: ") + std::strerror(errno));
      std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
    }
  }
  ~Sink() {  // without commit(): an error path; the partial file goes
    if (gzf_) gzclose(gzf_);
    if (f_) std::fclose(f_);
    if (!committed_) std::remove(tmp_.c_str());
  }
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  void write(const std::string& data) {
    if (gz_) {
      size_t off = 0;
      while (off < data.size()) {  // gzwrite takes an unsigned length
        const unsigned n = static_cast<unsigned>(std::min<size_t>(data.size() - off, 1u << 30));
        if (gzwrite(gzf_, data.data() + off, n) != static_cast<int>(n)) fail("write failed");
        off += n;
      }
    } else if (!data.empty() && std::fwrite(data.data(), 1, data.size(), f_) != data.size()) {
      fail(std::string("write failed: ") + std::strerror(errno));
    }
  }
  void close() {
    if (gz_) {
      const int rc = gzclose(gzf_);
      gzf_ = nullptr;
      if (rc != Z_OK) fail("close failed");
    } else {
      const int rc = std::fclose(f_);
      f_ = nullptr;
      if (rc != 0) fail(std::string("close failed: ") + std::strerror(errno));
    }
  }
  void commit() {
    util::commit_file(tmp_, path_);
    committed_ = true;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw std::runtime_error("synth: " + what + ": " + path_); }
  std::string path_, tmp_;
  bool gz_;
  bool committed_ = false;
  gzFile gzf_ = nullptr;
  std::FILE* f_ = nullptr;
};

}  // namespace

Profile parse_profile(const std::string& name) {
  for (const ProfileEntry& e : kProfiles)
    if (name == e.name) return e.profile;
  throw std::invalid_argument("unknown synth profile '" + name + "' (allowed: " + profile_names() + ")");
}

std::string profile_names() {
  std::string names;
  for (const ProfileEntry& e : kProfiles) names += (names.empty() ? "" : ", ") + std::string(e.name);
  return names;
}

double planted_cross_share(Profile profile) { return World(profile, 1.0, false).cross_share(); }

SynthReport write_synthetic(const SynthOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  if (opts.output.empty()) throw std::invalid_argument("synth: output path is empty");
  if (!(opts.cardinality_scale > 0.0) || !std::isfinite(opts.cardinality_scale))
    throw std::invalid_argument("synth: cardinality_scale must be a positive number");
  if (opts.threads < 0) throw std::invalid_argument("synth: threads must be >= 0");

  const std::shared_ptr<const World> world = get_world(opts.profile, opts.cardinality_scale);
  Sink out(opts.output);
  std::unique_ptr<Sink> probs_out;
  if (!opts.probabilities_out.empty()) probs_out = std::make_unique<Sink>(opts.probabilities_out);

  int threads = opts.threads;
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  SynthReport rep{opts.rows, 0, 0.0, 0.0};
  uint64_t positives = 0;
  auto consume = [&](const Chunk& c) {
    out.write(c.text);
    if (probs_out) probs_out->write(c.probs);
    rep.bytes += c.text.size();
    positives += c.positives;
  };
  auto chunk_at = [&](uint64_t begin) {
    return make_chunk(*world, opts.seed, begin, std::min(opts.rows, begin + kChunkRows), opts.with_label,
                      probs_out != nullptr);
  };

  if (threads == 1) {
    for (uint64_t b = 0; b < opts.rows; b += kChunkRows) consume(chunk_at(b));
  } else {
    // Up to `threads` chunks in flight; the calling thread writes them in order.
    std::deque<std::future<Chunk>> inflight;
    uint64_t next = 0;
    while (next < opts.rows || !inflight.empty()) {
      while (next < opts.rows && inflight.size() < static_cast<size_t>(threads)) {
        inflight.push_back(std::async(std::launch::async, chunk_at, next));
        next += kChunkRows;
      }
      Chunk c = inflight.front().get();
      inflight.pop_front();
      consume(c);
    }
  }
  out.close();
  if (probs_out) probs_out->close();
  out.commit();
  if (probs_out) probs_out->commit();

  rep.positives_rate = opts.rows ? static_cast<double>(positives) / static_cast<double>(opts.rows) : 0.0;
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

struct RowSampler::Impl {
  World world;
};

RowSampler::RowSampler(Profile profile, double cardinality_scale)
    : impl_(std::make_unique<Impl>(Impl{World(profile, cardinality_scale, false)})) {}
RowSampler::~RowSampler() = default;

void RowSampler::sample(uint64_t seed, uint64_t row, data::CriteoRow& out) const {
  Row r;
  impl_->world.sample(seed, row, r);
  out.label = -1;
  out.had_crlf = false;
  for (int f = 0; f < kNumIntFields; ++f) {
    out.int_present[f] = r.int_present[f];
    out.int_value[f] = r.int_present[f] ? r.ints[f] : 0;
  }
  for (int f = 0; f < kNumCatFields; ++f) {
    out.cat_present[f] = r.cat_present[f];
    out.cat_value[f] = r.cat_present[f] ? cat_hex(f, r.cats[f]) : 0;
  }
}

double best_reachable_auc(const std::vector<float>& labels, const std::vector<float>& probs) {
  if (labels.size() != probs.size()) throw std::invalid_argument("best_reachable_auc: labels and probs differ in size");
  return util::exact_auc(probs, labels);
}

}  // namespace sparsetrain::synth
