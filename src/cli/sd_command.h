#pragma once
// `muster sd --config FILE`: the discovery manager (see src/sd/service.h).
#include <CLI/CLI.hpp>

namespace muster::cli {

// Adds the subcommand to `app`; it runs (and sets `exit_code`) when parsed.
void add_sd_command(CLI::App& app, int& exit_code);

}  // namespace muster::cli
