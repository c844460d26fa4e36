#include "sparsetrain/train/lr_schedule.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "sparsetrain/data/row_estimate.h"
#include "sparsetrain/train/setup.h"

namespace sparsetrain::train {

uint64_t run_length_steps(const cli::Config& c, uint64_t rows) {
  const auto batch = static_cast<uint64_t>(c.train.batch_size);
  return static_cast<uint64_t>(c.train.epochs) * ((rows + batch - 1) / batch);  // each epoch ends on a part batch
}

optim::OptimizerOptions run_optimizer_options(const cli::Config& c, const std::vector<data::InputFile>& files,
                                              collective::Comm& comm, std::string& description) {
  char lr[96];
  std::snprintf(lr, sizeof lr, "# lr: %g", c.optim.lr);
  if (c.optim.lr_schedule == cli::LrSchedule::Constant) {
    description = std::string(lr) + ", constant (optim.lr_schedule)";
    return optimizer_options(c);
  }
  std::string source = "optim.schedule_steps";
  uint64_t steps = static_cast<uint64_t>(c.optim.schedule_steps);
  if (steps == 0) {
    data::RowEstimate rows;
    if (comm.is_root()) rows = data::estimate_rows(files);
    uint64_t shared[2] = {rows.rows, rows.exact ? 1u : 0u};
    comm.broadcast_bytes(shared, sizeof shared);
    steps = run_length_steps(c, shared[0]);
    source = std::to_string(shared[0]) + (shared[1] ? " rows" : " rows (estimated)") + " in " +
             std::to_string(files.size()) + " file(s) x " + std::to_string(c.train.epochs) + " epoch(s) / batch " +
             std::to_string(c.train.batch_size);
  }
  std::snprintf(lr, sizeof lr, "# lr: %g falling linearly to %g", c.optim.lr, c.optim.lr * c.optim.lr_final);
  description = std::string(lr) + " at step " + std::to_string(steps) + " (" + source + ")";
  if (c.train.max_steps > 0 && static_cast<uint64_t>(c.train.max_steps) < steps)
    description += "; train.max_steps stops the run at step " + std::to_string(c.train.max_steps) +
                   " (optim.schedule_steps " + std::to_string(c.train.max_steps) + " would end the fall there)";
  return optimizer_options(c, steps);
}

namespace {
bool length_from_rows(const cli::Config& c) {
  return c.optim.lr_schedule == cli::LrSchedule::Linear && c.optim.schedule_steps == 0;
}
}  // namespace

std::string schedule_change_note(const cli::Config& before, const cli::Config& now,
                                 const std::vector<data::InputFile>& files, uint64_t step) {
  const uint64_t rows = length_from_rows(before) || length_from_rows(now) ? data::estimate_rows(files).rows : 0;
  const optim::OptimizerOptions was = optimizer_options(before, run_length_steps(before, rows));
  const optim::OptimizerOptions is = optimizer_options(now, run_length_steps(now, rows));
  const double lr_was = optim::scheduled_lr(was, step + 1), lr_is = optim::scheduled_lr(is, step + 1);
  const bool both_fell = step + 1 >= std::max(was.decay_steps, is.decay_steps);  // flat from here on
  if (lr_was == lr_is && (was.decay_steps == is.decay_steps || both_fell)) return "";
  std::ostringstream note;
  note << "note: the resumed run trains step " << step + 1 << " at learning rate " << lr_is
       << "; the checkpointed run would have used " << lr_was;
  if (was.decay_steps != is.decay_steps && was.decay_steps > 0) {
    note << ". Its linear fall ended at step " << was.decay_steps << ", this run's "
         << (is.decay_steps > 0 ? "at step " + std::to_string(is.decay_steps) : std::string("does not fall"));
    if (now.optim.lr_schedule == cli::LrSchedule::Linear)
      note << " (--optim.schedule_steps " << was.decay_steps << " keeps the checkpointed run's fall)";
  }
  return note.str();
}

}  // namespace sparsetrain::train
