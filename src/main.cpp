// muster: one binary, subcommands. This file only dispatches.
#include <CLI/CLI.hpp>
#include <algorithm>

#include "cli/client_commands.h"
#include "cli/sd_command.h"
#include "cli/serve.h"
#include "cli/serve_config.h"

int main(int argc, char** argv) {
  CLI::App app{"muster: a service registry and discovery system", "muster"};
  app.require_subcommand(1);
  int exit_code = 0;
  CLI::App& serve = muster::cli::add_serve_command(app, exit_code);
  muster::cli::add_client_commands(app, exit_code);
  muster::cli::add_sd_command(app, exit_code);
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args.front() == "serve") {
      std::vector<std::string> rest(args.begin() + 1, args.end());
      rest = muster::cli::expand_config_file(serve, std::move(rest));
      rest.insert(rest.begin(), "serve");
      args = std::move(rest);
    }
    std::reverse(args.begin(), args.end());  // CLI11 parses a vector from its back
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
