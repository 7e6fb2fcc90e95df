#pragma once
// Finding and changing the checks of instances without heartbeat (Consul registrations), for the
// Consul API's pass/warn/fail/update and for the check runner, through the one write path, so
// that every change replicates. A change that alters a check's status or output is a set of the
// instance's kChecksKey metadata and of its status (critical -> 2, down; else 1, up: what native
// clients see, docs/api.md); a TTL update that alters nothing is a renew of the instance, which
// every node sees and which costs no index bump. Threading: any thread; the read-modify-write of
// one node's changes is serialised here, so the API and the runner never undo each other's.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checks/check.h"
#include "checks/check_index.h"
#include "cluster/peer_link.h"
#include "cluster/writes.h"
#include "common/clock.h"
#include "common/function_ref.h"
#include "registry/registry.h"

namespace muster::checks {

// Runs `fn` on each instance without heartbeat (a Consul registration) of `zone` in `env` (""
// for every env), app by app under the registry's lock (so `fn` must not call the registry);
// `fn` returns false to stop.
void visit_agent_instances(
    const registry::Registry& registry, std::string_view zone, std::string_view env,
    FunctionRef<bool(const registry::App&, const std::string& hostname, const registry::Instance&)>
        fn);

enum class UpdateResult { kChanged, kUnchanged, kNotFound };

class CheckWrites {
 public:
  // `index` holds the registrations of the zone whose checks this node changes.
  CheckWrites(registry::Registry& registry, cluster::Writes& writes, const Clock& clock,
              const CheckIndex& index)
      : registry_(registry), writes_(writes), clock_(clock), index_(index) {}

  // The check `check_id` of an instance without heartbeat of the index's zone in `env`.
  std::optional<FoundCheck> find(std::string_view env, std::string_view check_id) const {
    return index_.check(env, check_id);
  }

  // Sets the check's status and output. `ttl_reset`: a TTL update (pass, warn, fail, update),
  // which also restarts the TTL timer, and which is a renew when it changes nothing.
  UpdateResult update(const cluster::InstanceId& instance, std::string_view check_id, Status status,
                      std::string_view output, bool ttl_reset);

  // Adds `check` to the instance, or replaces the one with its ID (keeping that one's state):
  // /v1/agent/check/register. The 400 text when it does not fit, "" when done; nullopt when the
  // instance is gone.
  std::optional<std::string> put(const cluster::InstanceId& instance, Check check);
  // Removes the check `check_id`; false when there is no such check.
  bool remove(const cluster::InstanceId& instance, std::string_view check_id);

  // Removes the instance (DeregisterCriticalServiceAfter).
  bool deregister(const cluster::InstanceId& instance);

 private:
  // Writes `list` as the instance's checks, with the status it gives; false if it is gone.
  bool write(const cluster::InstanceId& instance, const std::vector<Check>& list);

  registry::Registry& registry_;
  cluster::Writes& writes_;
  const Clock& clock_;
  const CheckIndex& index_;
  std::mutex mu_;
};

}  // namespace muster::checks
