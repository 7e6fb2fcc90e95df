#pragma once
// `muster --version` and `muster version`: the release this binary was built from.
#include <CLI/CLI.hpp>

namespace muster::cli {

void add_version(CLI::App& app);

}  // namespace muster::cli
