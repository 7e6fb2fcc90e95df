#pragma once
// An SDK Instance from the registry's JSON (read by wire/instance_json.h). Internal to libmuster.
// Threading: pure functions.
#include <boost/json/object.hpp>
#include <optional>

#include "muster/instance.h"

namespace muster::detail {

// nullopt when the instance holds text that is not valid UTF-8: a reader leaves it out and
// passes the rest on (issue 15.1).
std::optional<Instance> readable_instance(const boost::json::object& o);

}  // namespace muster::detail
