#pragma once
// Zipf sampling without tables: rejection-inversion (W. Hörmann, G. Derflinger,
// "Rejection-inversion to generate variates from monotone discrete
// distributions", ACM TOMACS 1996), in the formulation of Apache Commons RNG's
// RejectionInversionZipfSampler. O(1) memory and expected O(1) time for any
// number of elements (fields here have up to ~10^7 values, more when scaled),
// and exact. Generalised to the Zipf-Mandelbrot law on a range:
// P(k) ∝ (k + q)^-s for k in lo..n (q >= 0 flattens the head).
#include <cmath>
#include <cstdint>

#include "sparsetrain/util/random.h"

namespace sparsetrain::synth::detail {

class ZipfSampler {
 public:
  ZipfSampler() = default;
  // Ranks lo..n (1 <= lo <= n), exponent s > 0, offset q >= 0.
  ZipfSampler(uint64_t lo, uint64_t n, double s, double q = 0.0)
      : lo_(static_cast<double>(lo)),
        n_(static_cast<double>(n)),
        s_(s),
        q_(q),
        c_(lo_ + q_),
        // The lowest rank's whole interval is always accepted, so u starts there.
        h_integral_lo_(h_integral(lo_ + 0.5) - h(lo_)),
        h_integral_n_(h_integral(n_ + 0.5)),
        // x >= k - squeeze is inside rank k's acceptance region for every
        // k > lo (the region widens as h flattens, so k = lo + 1 is the worst case).
        squeeze_(lo_ + 1.0 - h_integral_inverse(h_integral(lo_ + 1.5) - h(lo_ + 1.0))) {}

  // Returns a rank in lo..n (lo = most frequent).
  uint64_t operator()(util::Rng& rng) const {
    if (n_ <= lo_) return static_cast<uint64_t>(lo_);
    for (;;) {
      const double u = h_integral_n_ + rng.uniform() * (h_integral_lo_ - h_integral_n_);
      const double x = h_integral_inverse(u);
      double k = std::floor(x + 0.5);
      if (k < lo_)
        k = lo_;
      else if (k > n_)
        k = n_;
      // Cheap squeeze test first; the exact test needs one more log/exp.
      if (k - x <= squeeze_ || u >= h_integral(k + 0.5) - h(k)) return static_cast<uint64_t>(k);
    }
  }

 private:
  // h(x) = ((x+q)/c)^-s with c = lo+q, and its antiderivative
  // H(x) = c * (((x+q)/c)^(1-s) - 1) / (1-s), written to stay accurate for s
  // near 1. Dividing by c (a constant factor of h, so the same distribution)
  // keeps H well scaled: unscaled, (x+q)^(1-s) underflows against the -1 for
  // large s and q and the differences of H lose all precision.
  double h_integral(double x) const {
    const double ly = std::log((x + q_) / c_);
    return c_ * helper2((1.0 - s_) * ly) * ly;
  }
  double h(double x) const { return std::exp(-s_ * std::log((x + q_) / c_)); }
  double h_integral_inverse(double x) const {
    const double v = x / c_;
    double t = v * (1.0 - s_);
    if (t < -1.0) t = -1.0;  // rounding guard: keeps log1p finite
    return c_ * std::exp(helper1(t) * v) - q_;
  }
  // log1p(x)/x and expm1(x)/x with their limits at 0.
  static double helper1(double x) {
    return std::abs(x) > 1e-8 ? std::log1p(x) / x : 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
  }
  static double helper2(double x) {
    return std::abs(x) > 1e-8 ? std::expm1(x) / x : 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
  }

  double lo_ = 1.0, n_ = 1.0, s_ = 1.0, q_ = 0.0, c_ = 1.0;
  double h_integral_lo_ = 0.0, h_integral_n_ = 0.0, squeeze_ = 0.0;
};

}  // namespace sparsetrain::synth::detail
