// muster: one binary, subcommands. This file only dispatches.
// Exit codes: 0 success, 1 a failure (the node refused, nothing answered, cannot listen),
// 2 a usage error (unknown option, bad value), as the README says.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

#include "cli/client_commands.h"
#include "cli/sd_command.h"
#include "cli/serve.h"
#include "cli/serve_config.h"
#include "cli/usage_check.h"
#include "cli/version.h"

namespace {
constexpr int kUsageError = 2;
}

int main(int argc, char** argv) {
  CLI::App app{"muster: a service registry and discovery system", "muster"};
  app.require_subcommand(1);
  int exit_code = 0;
  CLI::App& serve = muster::cli::add_serve_command(app, exit_code);
  muster::cli::add_client_commands(app, exit_code);
  muster::cli::add_sd_command(app, exit_code);
  muster::cli::add_version(app);
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args.front() == "serve") {
      std::vector<std::string> rest(args.begin() + 1, args.end());
      rest = muster::cli::expand_config_file(serve, std::move(rest));
      rest.insert(rest.begin(), "serve");
      args = std::move(rest);
    }
    if (auto problem = muster::cli::unknown_option(app, args)) {
      std::cerr << "muster: " << *problem << '\n';
      return kUsageError;
    }
    std::reverse(args.begin(), args.end());  // CLI11 parses a vector from its back
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message and the usage hint
    return kUsageError;
  } catch (const std::exception& e) {
    // Nothing a user types may abort the process.
    std::cerr << "muster: " << e.what() << '\n';
    return 1;
  }
  return exit_code;
}
