#pragma once
// Progress that a person can read on long runs: where the run is (epoch, share of this
// rank's shard read), how long it has run and how long it still needs, e.g.
//   epoch 1/2 | 37.2% | 1h02m elapsed | ETA 1h45m | 271k samples/s | loss 0.4512
// The same fields go into metrics.jsonl.
#include <cstdint>
#include <string>

namespace sparsetrain::train {

struct Progress {
  int epoch = 0;  // 0-based epoch being read
  int epochs = 1;
  double shard_fraction = 0;  // of this epoch's shard read (rank 0's), [0, 1]
  double run_fraction = 0;    // of the whole run (epochs, or train.max_steps if it ends first)
  double elapsed_s = 0;
  double eta_s = -1;  // < 0: not known yet
};

// run_fraction: the larger of the epochs' share and step / max_steps (max_steps > 0), since
// whichever limit comes first ends the run. ETA: elapsed time scaled by the part still to go.
Progress make_progress(int epoch, int epochs, double shard_fraction, uint64_t step, int64_t max_steps,
                       double elapsed_s);

// "45s", "4m05s", "1h02m", "3d04h".
std::string duration_text(double seconds);
// "950", "27.1k", "271k", "1.20M".
std::string rate_text(double per_second);
// The line above, without a trailing newline.
std::string progress_line(const Progress& p, double samples_per_s, double loss);
// ,"epoch":1,"epochs":2,"shard_read":0.372,"elapsed_s":3720,"eta_s":6300 (eta_s null if unknown)
std::string progress_json_fields(const Progress& p);

}  // namespace sparsetrain::train
