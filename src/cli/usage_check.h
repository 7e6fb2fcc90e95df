#pragma once
// Usage checks CLI11 does not make for us. CLI11 takes an unknown `--opt` as a positional value
// when a positional slot is free, so `muster fetch --evn dev provider` used to fail with
// "appid: At Most 1 required but received 2" instead of naming the typo.
// Threading: pure; call before CLI::App::parse().
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace muster::cli {

// The first argument (of `args`, in command-line order, subcommand first) that looks like an
// option but is not one of that subcommand's (or the app's), as an error message; nullopt when
// every option is known. Values of options are skipped, as are negative numbers and what
// follows "--".
std::optional<std::string> unknown_option(CLI::App& app, const std::vector<std::string>& args);

}  // namespace muster::cli
