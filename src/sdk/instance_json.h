#pragma once
// Reading the registry's JSON: an Instance, and typed fields that tolerate absence. Internal to
// libmuster (also used by the CLI). Threading: pure functions.
#include <boost/json/object.hpp>
#include <string>

#include "muster/instance.h"

namespace muster::detail {

// The string at `key`; empty when absent or not a string.
std::string json_string(const boost::json::object& o, std::string_view key);
// The integer at `key`; 0 when absent or not an integer.
int64_t json_int(const boost::json::object& o, std::string_view key);
// An Instance from the registry's JSON object; missing fields stay empty.
Instance instance_from_json(const boost::json::object& o);
// True when every text of the instance is valid UTF-8: what a reader may pass on. An answer is
// parsed with parse_lenient_json() so that one instance that is not costs only itself (issue 15.1).
bool readable(const Instance& instance);

}  // namespace muster::detail
