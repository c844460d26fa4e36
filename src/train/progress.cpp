#include "sparsetrain/train/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sparsetrain::train {

Progress make_progress(int epoch, int epochs, double shard_fraction, uint64_t step, int64_t max_steps,
                       double elapsed_s) {
  Progress p;
  p.epochs = std::max(epochs, 1);
  p.epoch = std::clamp(epoch, 0, p.epochs - 1);
  p.shard_fraction = std::clamp(shard_fraction, 0.0, 1.0);
  p.elapsed_s = elapsed_s;
  double done = (p.epoch + p.shard_fraction) / p.epochs;
  if (max_steps > 0) done = std::max(done, static_cast<double>(step) / static_cast<double>(max_steps));
  p.run_fraction = std::clamp(done, 0.0, 1.0);
  if (p.run_fraction > 0) p.eta_s = elapsed_s * (1.0 - p.run_fraction) / p.run_fraction;
  return p;
}

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<uint64_t>(std::llround(seconds));
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%llus", static_cast<unsigned long long>(s));
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%llum%02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  else if (s < 86400)
    std::snprintf(buf, sizeof buf, "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s % 3600 / 60));
  else
    std::snprintf(buf, sizeof buf, "%llud%02lluh", static_cast<unsigned long long>(s / 86400),
                  static_cast<unsigned long long>(s % 86400 / 3600));
  return buf;
}

std::string rate_text(double v) {
  char buf[32];
  if (!std::isfinite(v) || v < 0) return "?";
  if (v < 1e3)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (v < 1e5)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else if (v < 1e6)
    std::snprintf(buf, sizeof buf, "%.0fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  return buf;
}

std::string progress_line(const Progress& p, double samples_per_s, double loss) {
  char head[96], tail[64];
  std::snprintf(head, sizeof head, "epoch %d/%d | %.1f%% | ", p.epoch + 1, p.epochs, 100.0 * p.shard_fraction);
  std::snprintf(tail, sizeof tail, " samples/s | loss %.4f", loss);
  return head + duration_text(p.elapsed_s) + " elapsed | ETA " + (p.eta_s < 0 ? "?" : duration_text(p.eta_s)) + " | " +
         rate_text(samples_per_s) + tail;
}

std::string progress_json_fields(const Progress& p) {
  char buf[160];
  std::snprintf(buf, sizeof buf,
                ",\"epoch\":%d,\"epochs\":%d,\"shard_read\":%.4f,\"elapsed_s\":%.1f,\"eta_s\":", p.epoch + 1, p.epochs,
                p.shard_fraction, p.elapsed_s);
  std::string out = buf;
  if (p.eta_s < 0) return out + "null";
  std::snprintf(buf, sizeof buf, "%.1f", p.eta_s);
  return out + buf;
}

}  // namespace sparsetrain::train
