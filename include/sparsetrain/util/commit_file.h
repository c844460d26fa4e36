#pragma once
// A file written under a temporary name becomes its final name whole or not at all: fsync the
// file, rename it over the final name, fsync the directory. Model files, checkpoints, predict's
// output, synth's output and the run directory's config.ini all end this way, so a failed or
// killed run leaves an earlier file at the final name as it was.
#include <string>

namespace sparsetrain::util {

// Throws std::runtime_error naming the file and the system's reason.
void commit_file(const std::string& tmp_path, const std::string& final_path);

}  // namespace sparsetrain::util
