#pragma once
// Options files for subcommands: a YAML map whose keys are the subcommand's long option names
// (`poll_hold` or `poll-hold` for --poll-hold). The file's values come first and the command
// line's after them, so an option given on the command line wins.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace muster::cli {

// Returns `args` (in order, without the program name) with the YAML file named by --config
// turned into options. Throws CLI::ValidationError naming the file, key and line on an unknown key,
// a non-scalar value, or a file that cannot be read or parsed.
std::vector<std::string> expand_config_file(const CLI::App& command, std::vector<std::string> args);

}  // namespace muster::cli
