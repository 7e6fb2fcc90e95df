#pragma once
// The Consul agent's service writes (issue 17; docs/api.md, Consul): PUT /v1/agent/service/register
// turns a Consul service definition into an instance without heartbeat (registry::Instance::lease
// false: it stays until deregistered, and replicates like any write), and
// /v1/agent/service/deregister/<id> (PUT, and GET for python-consul 0.7.1) cancels it. A
// registration's Check and Checks become its checks (checks/check.h).
// Threading: pure functions over their arguments; the caller writes through cluster::Writes.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "api/api.h"
#include "checks/check.h"

namespace muster::api::consul {

struct Registration {
  registry::RegisterArgs args;        // its metadata without the checks
  std::vector<checks::Check> checks;  // new, starting at the registration's time
};

// The instance a registration body describes, for this node (`identity`) and env, or the 400
// text that says what is wrong with it (Consul's words where Consul has them).
std::variant<Registration, std::string> registration(std::string_view body,
                                                     const NodeIdentity& identity,
                                                     const std::string& env, int64_t now_ms);

struct CheckRegistration {
  checks::Check check;  // its ID defaults to its Name
  std::string service_id;
};
// The check a PUT /v1/agent/check/register body adds to a service, or the 400 text. muster has no
// node checks: a ServiceID is required.
std::variant<CheckRegistration, std::string> check_registration(std::string_view body);

// The status and output of a PUT /v1/agent/check/update body ({"Status", "Output"}), or the 400
// text.
std::variant<std::pair<checks::Status, std::string>, std::string> check_update_body(
    std::string_view body);

}  // namespace muster::api::consul
