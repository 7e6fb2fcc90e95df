#pragma once
// Lists of nodes as operators write them: DISCOVERY_NODES and --node (libmuster, the CLI),
// --nodes and --zones (muster serve). Threading: pure functions.
#include <string_view>
#include <vector>

namespace muster::wire {

// The parts of `text` between `separator`s, trimmed of spaces; empty parts dropped.
std::vector<std::string_view> split_list(std::string_view text, char separator = ',');

// host:port with a numeric port in 1..65535 and a non-empty host.
bool valid_host_port(std::string_view text);

}  // namespace muster::wire
