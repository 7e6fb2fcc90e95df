#pragma once
// `muster serve`: one registry node.
#include <CLI/CLI.hpp>

namespace muster::cli {

// Adds the subcommand to `app`; it runs (and sets `exit_code`) when parsed.
CLI::App& add_serve_command(CLI::App& app, int& exit_code);

}  // namespace muster::cli
