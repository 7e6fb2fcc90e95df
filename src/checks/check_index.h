#pragma once
// The Consul registrations (instances without heartbeat) of this node's zone, kept up to date by
// the registry as they change, with their checks parsed once per change (issue 27.9): what the
// Consul API finds by service ID or check ID without a pass over the zone, and what the check
// runner walks every tick without parsing JSON again. Before it, a TTL pass among 100,000 checks
// took 123 ms and an idle node spent half a core re-reading them.
// Threading: stored() and removed() run under the registry's lock (the registry calls them) and
// take the index's own lock inside it; the reads run on any thread under the index's lock alone
// and hand out copies, so no caller holds it while it calls the registry.
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "checks/check.h"
#include "cluster/peer_link.h"
#include "registry/registry.h"

namespace muster::checks {

struct FoundCheck {
  cluster::InstanceId instance;
  Check check;
};

class CheckIndex final : public registry::ChangeObserver {
 public:
  // A registration with its checks as last stored; never changed once made (a change makes a
  // new one), so readers share it.
  struct Entry {
    cluster::InstanceId id;
    std::vector<Check> checks;
    // Each check's name across the zone (env, appid, hostname and check ID), what the runner
    // hashes to find the node that runs it (owner_of).
    std::vector<std::string> owner_keys;
    // The runner's note, per check: the instance's renew time (wall ms) as it last read it. An
    // unchanged pass of the one TTL check is a renew, which the index is not told of; the check
    // cannot lapse before that renew's TTL runs out, so the runner reads the instance once per
    // TTL rather than at every tick. Written and read by the runner's thread alone (a new Entry,
    // after any change, starts at 0).
    mutable std::vector<int64_t> renewed_ms;
  };

  explicit CheckIndex(std::string zone) : zone_(std::move(zone)) {}

  void stored(const registry::Instance& instance) override;
  void removed(const registry::Instance& instance) override;

  // The registration with service ID (hostname) `id` in `env`: the first by appid should there
  // be several (replicated from a node that let an ID be shadowed).
  std::optional<cluster::InstanceId> service(std::string_view env, std::string_view id) const;
  // The check `check_id` in `env` with its registration: the first by appid and hostname.
  std::optional<FoundCheck> check(std::string_view env, std::string_view check_id) const;
  // Every registration that has checks, in no particular order: one list shared by every
  // reader until the next change, so that a reader at every tick copies nothing.
  using Entries = std::vector<std::shared_ptr<const Entry>>;
  std::shared_ptr<const Entries> with_checks() const;
  size_t registrations() const;

 private:
  // The key of an instance, of a service ID and of a check ID within the zone.
  static std::string instance_key(const cluster::InstanceId& id);
  void forget(const std::string& key);  // under mu_

  const std::string zone_;
  // How many registrations the index holds: a native instance's change costs nothing while none.
  std::atomic<size_t> size_{0};
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Entry>> entries_;  // by instance_key
  // env '\0' service ID -> appids; env '\0' check ID -> (appid, hostname).
  std::unordered_map<std::string, std::set<std::string>> by_service_;
  std::unordered_map<std::string, std::set<std::pair<std::string, std::string>>> by_check_;
  // with_checks()'s list, made at the first read after a change; null after a change.
  mutable std::shared_ptr<const Entries> listed_;
};

}  // namespace muster::checks
