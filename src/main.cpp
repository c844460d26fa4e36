// sparsetrain: one binary, SPMD under mpirun; see `sparsetrain --help`.
#include <iostream>
#include <string>
#include <vector>

#include "sparsetrain/app/commands.h"
#include "sparsetrain/collective/comm.h"

int main(int argc, char** argv) {
  using namespace sparsetrain;
  collective::Comm& comm = collective::Comm::world(&argc, &argv);
  const std::string command = argc > 1 ? argv[1] : "";
  const std::vector<std::string> args(argv + (argc > 1 ? 2 : 1), argv + argc);
  const int rc = collective::run_guarded(comm, [&]() -> int {
    if (command == "train") return app::command_train(args, comm);
    if (command == "evaluate") return app::command_evaluate(args, comm);
    if (command == "predict") return app::command_predict(args, comm);
    if (command == "synth") return app::command_synth(args, comm);
    if (command == "--help" || command == "-h" || command == "help") {
      if (comm.is_root()) app::print_usage(std::cout);
      return 0;
    }
    if (comm.is_root())
      std::cerr << "error: " << (command.empty() ? "no command given" : "unknown command '" + command + "'")
                << "; allowed: train|evaluate|predict|synth (see 'sparsetrain --help')\n";
    return 2;
  });
  comm.finalize();
  return rc;
}
