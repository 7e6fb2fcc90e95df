#include "cli/version.h"

#include <iostream>

namespace muster::cli {

void add_version(CLI::App& app) {
  app.set_version_flag("--version", std::string("muster ") + MUSTER_VERSION);
  app.add_subcommand("version", "print muster's version")->callback([] {
    std::cout << "muster " << MUSTER_VERSION << '\n';
  });
}

}  // namespace muster::cli
