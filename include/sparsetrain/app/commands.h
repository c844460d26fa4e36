#pragma once
// The subcommands of the one `sparsetrain` binary (the app module, on top of train).
// Each takes the arguments after the subcommand name and returns the process exit code.
#include <iosfwd>
#include <string>
#include <vector>

#include "sparsetrain/collective/comm.h"

namespace sparsetrain::app {

int command_train(const std::vector<std::string>& args, collective::Comm& comm);
int command_evaluate(const std::vector<std::string>& args, collective::Comm& comm);
int command_predict(const std::vector<std::string>& args, collective::Comm& comm);
int command_synth(const std::vector<std::string>& args, collective::Comm& comm);
void print_usage(std::ostream& os);

}  // namespace sparsetrain::app
