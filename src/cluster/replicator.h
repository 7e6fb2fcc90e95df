#pragma once
// Replication of client writes to the other nodes (spec §6): same-zone peers get every write with
// replication=true; one random node of each other zone gets it with replication=false, unless the
// write came from another zone. Peers' answers drive the conflict rule (§6.4): -404 to a renew
// sends that peer a register, -409 adopts the peer's newer copy. Also the start-up syncup (§6.5).
// Threading: the write hooks may be called from any thread, inside a registry visitor (they only
// queue); links, replies and syncup run on the replicator's own thread.
#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "cluster/cluster_options.h"
#include "cluster/peer_link.h"
#include "common/metrics.h"
#include "registry/registry.h"

namespace muster::cluster {

struct NodeView {
  std::string addr;
  PeerStatus status;
};

class Replicator final : public ReplyHandler {
 public:
  Replicator(registry::Registry& registry, ClusterOptions options);
  ~Replicator();

  // True when there is anyone to replicate to.
  bool has_peers() const { return !same_zone_.empty() || !other_zones_.empty(); }
  // Starts the thread: the links, then the syncup, which calls `synced` (on the replicator's
  // thread) after its first success and then stops.
  void start(std::function<void()> synced);
  // Flushes the queues for up to `flush`, then stops the thread.
  void stop(std::chrono::nanoseconds flush);

  // Hooks for client writes already applied locally.
  void registered(const registry::Instance& inst, bool from_zone);
  void renewed(const registry::Instance& inst, bool from_zone);
  void cancelled(const registry::InstanceKey& key, bool from_zone);
  void set(const registry::SetArgs& args, int64_t set_timestamp, bool from_zone);

  // The same-zone nodes, this one included, sorted by address.
  std::vector<NodeView> same_zone_nodes() const;
  void write_metrics(metrics::TextWriter& out) const;

  void on_reply(PeerLink& link, const PeerItem& item, int code,
                const boost::json::value& data) override;

 private:
  void fan_out(std::string_view path, const std::string& body, const std::string& coalesce_key,
               bool from_zone);
  boost::asio::awaitable<void> syncup(std::function<void()> synced);
  // Applies a fetch/all answer; false when it is not one.
  bool apply_snapshot(std::string_view body, size_t& applied);

  registry::Registry& registry_;
  const ClusterOptions options_;
  boost::asio::io_context ioc_;
  std::vector<std::unique_ptr<PeerLink>> same_zone_;
  std::vector<std::vector<std::unique_ptr<PeerLink>>> other_zones_;  // one list per zone
  std::mutex rng_mu_;
  std::mt19937 rng_;
  std::thread thread_;
  std::atomic<bool> synced_{false};
  std::atomic<uint64_t> adopted_{0};
};

}  // namespace muster::cluster
