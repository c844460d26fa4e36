#include "sparsetrain/checkpoint/checkpoint_dir.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <system_error>

#include "sparsetrain/checkpoint/checkpoint.h"

namespace sparsetrain::checkpoint {
namespace fs = std::filesystem;

std::string checkpoint_dir(const std::string& run_dir) { return (fs::path(run_dir) / "checkpoints").string(); }

std::string checkpoint_path(const std::string& dir, uint64_t step) {
  char name[48];
  std::snprintf(name, sizeof name, "ckpt-%012llu.h5", static_cast<unsigned long long>(step));
  return (fs::path(dir) / name).string();
}

std::vector<CheckpointEntry> list_checkpoints(const std::string& dir) {
  std::vector<CheckpointEntry> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  static const std::regex name("ckpt-([0-9]{1,19})\\.h5");
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string file = e.path().filename().string();
    if (!std::regex_match(file, m, name) || !e.is_regular_file(ec)) continue;
    out.push_back({std::stoull(m[1].str()), e.path().string()});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.step > b.step; });
  return out;
}

std::vector<std::string> rotate_checkpoints(const std::string& dir, int keep, uint64_t newest_step) {
  const std::string newest = checkpoint_path(dir, newest_step);
  read_checkpoint_state(newest);  // throws unless the new one is complete and readable
  std::vector<std::string> deleted;
  int kept = 0;
  for (const auto& c : list_checkpoints(dir)) {
    if (c.step > newest_step) continue;  // not ours to judge (resume quarantines them)
    if (++kept <= std::max(keep, 1)) continue;
    std::error_code ec;
    if (fs::remove(c.path, ec)) deleted.push_back(c.path);
  }
  return deleted;
}

std::string quarantine_checkpoint(const std::string& path) {
  std::string bad = path + ".bad";
  std::error_code ec;
  for (int n = 1; fs::exists(fs::symlink_status(bad, ec)); ++n) bad = path + ".bad." + std::to_string(n);
  fs::rename(path, bad, ec);
  if (ec) throw CheckpointError("cannot rename bad checkpoint '" + path + "': " + ec.message());
  return bad;
}

size_t remove_stale_temporaries(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  static const std::regex tmp("ckpt-[0-9]+\\.h5\\.tmp\\.[0-9]+");
  std::vector<fs::path> stale;  // collected first: no removal while iterating
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (std::regex_match(e.path().filename().string(), tmp)) stale.push_back(e.path());
  for (const auto& p : stale)
    if (fs::remove(p, ec)) ++n;
  return n;
}

}  // namespace sparsetrain::checkpoint
