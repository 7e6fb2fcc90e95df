#pragma once
// The one write path (issue 16.2): every write to the registry, whoever makes it (the native API,
// the node's own registration, the Consul API and its checks, later the UI), goes through
// here, which applies it and hands it to replication by the rule of where it came from
// (docs/decisions.md §6.1). Handlers only bind, call and render.
// Threading: any thread; the replication hooks run inside the registry's visitors and only queue.
#include <atomic>
#include <cstdint>
#include <functional>

#include "common/function_ref.h"
#include "registry/registry.h"

namespace muster::cluster {

class Replicator;

// Where a write came from decides whether and where it is replicated.
enum class Origin {
  kClient,     // a client of this node: stamped with this node's clock, sent to every peer
  kOtherZone,  // another zone's node (replication=false, from_zone=true): sent in this zone only
  kPeer,       // a same-zone peer (replication=true): applied here only
};
// The origin a request's `replication` and `from_zone` parameters say.
Origin origin_of(bool replication, bool from_zone);

class Writes {
 public:
  explicit Writes(registry::Registry& registry) : registry_(registry) {}
  // Set before the first write; null (no peers) is allowed.
  void set_replicator(Replicator* replicator) { replicator_ = replicator; }
  // Called after every write, outside the registry's lock and before the write returns (so
  // before its request is answered): the data directory writes what the write changed, and
  // answers whether its disk still takes writes. Set before the first write; unset: nothing.
  void set_after_write(std::function<bool()> after_write) { after_write_ = std::move(after_write); }
  // The last write reached memory only: the data directory's disk refuses (docs/architecture.md,
  // "A disk that refuses"). The APIs tell the client so (api::tell_if_memory_only).
  bool memory_only() const { return memory_only_.load(std::memory_order_relaxed); }

  // A client's dirty_timestamp is ignored: this node stamps the write (issue 15.4).
  registry::RegisterOutcome register_instance(registry::RegisterArgs args, Origin origin);
  // `peer_dirty` is the sender's dirty_timestamp, compared only for kPeer (docs/decisions.md §6.4).
  // `lease_age`: a peer's renew, made that long ago where it comes from (Registry::renew).
  // `on_instance` sees the outcome and the instance, under the registry lock, when it is found.
  registry::RenewOutcome renew(
      const registry::InstanceKey& key, Origin origin, int64_t peer_dirty,
      std::optional<int64_t> lease_age,
      FunctionRef<void(registry::RenewOutcome, const registry::Instance&)> on_instance);
  bool cancel(const registry::InstanceKey& key, Origin origin,
              std::optional<int64_t> if_not_newer_than = std::nullopt);
  // A client's set_timestamp is ignored, as for register.
  registry::SetOutcome set(registry::SetArgs args, Origin origin);

 private:
  void written() {
    if (after_write_) memory_only_.store(!after_write_(), std::memory_order_relaxed);
  }
  registry::Registry& registry_;
  Replicator* replicator_ = nullptr;
  std::function<bool()> after_write_;
  std::atomic<bool> memory_only_{false};
};

}  // namespace muster::cluster
