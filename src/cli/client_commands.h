#pragma once
// The client subcommands of `muster`: register, renew, cancel, set, fetch, fetchs, polls, watch,
// nodes. Each talks to the nodes of --node (or DISCOVERY_NODES), prints a table (or the node's
// `data` as JSON with --json), and exits non-zero with a message saying what went wrong.
#include <CLI/CLI.hpp>

namespace muster::cli {

// Adds the subcommands to `app`; the parsed one runs and sets `exit_code`.
void add_client_commands(CLI::App& app, int& exit_code);

}  // namespace muster::cli
