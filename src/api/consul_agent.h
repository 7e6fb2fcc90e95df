#pragma once
// The Consul agent's service writes (issue 17; docs/api.md, Consul): PUT /v1/agent/service/register
// turns a Consul service definition into an instance without heartbeat (registry::Instance::lease
// false: it stays until deregistered, and replicates like any write), and
// /v1/agent/service/deregister/<id> (PUT, and GET for python-consul 0.7.1) cancels it.
// Threading: pure functions over their arguments; the caller writes through cluster::Writes.
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "api/api.h"

namespace muster::api::consul {

// The instance a registration body describes, for this node (`identity`) and env, or the 400
// text that says what is wrong with it (Consul's words where Consul has them).
std::variant<registry::RegisterArgs, std::string> registration(std::string_view body,
                                                               const NodeIdentity& identity,
                                                               const std::string& env);

}  // namespace muster::api::consul
