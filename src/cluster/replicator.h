#pragma once
// Replication of client writes to the other nodes (docs/decisions.md §6): same-zone peers get every
// write with replication=true; one random node of each other zone gets it with replication=false,
// unless the write came from another zone. Peers' answers drive the conflict rule (§6.4): -404 to a
// renew sends that peer a register, -409 adopts the peer's newer copy. Also the start-up syncup
// (§6.6).
//
// The peers are the configured ones (--nodes, --zones) plus those discovered through the
// infra.discovery self-registrations (§6.7); a configured node is never dropped, a discovered one
// is when its registration goes.
// Threading: the write hooks may be called from any thread, inside a registry visitor (they only
// queue); links, replies, syncup and peer changes run on the replicator's own thread.
#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
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

  // Starts the thread: the links, then the syncup, which calls `synced_once` (on the
  // replicator's thread) after its first pass, `synced` says whether a peer answered.
  void start(std::function<void(bool synced)> synced_once);
  // Called on the replicator's thread with each fetch/all answer the syncup's first pass applied,
  // before `synced_once`. Set it before start().
  void on_syncup_answer(std::function<void(std::string_view body)> fn) {
    syncup_answer_ = std::move(fn);
  }
  // Flushes the queues for up to `flush`, then stops the thread.
  void stop(std::chrono::nanoseconds flush);
  boost::asio::io_context& context() { return ioc_; }
  // How this node speaks to the peer at `addr`: its token goes only to configured nodes, and
  // to discovered ones when ClusterOptions::token_to_discovered. Any thread.
  PeerCredentials credentials_for(const std::string& addr) const;

  // The nodes now registered as infra.discovery, this one's zone and others. Any thread; applied
  // before it returns when called on the replicator's thread.
  void discovered(std::vector<std::string> nodes, ZoneNodes zones);

  // Hooks for client writes already applied locally.
  void registered(const registry::Instance& inst, bool from_zone);
  void renewed(const registry::Instance& inst, bool from_zone);
  void cancelled(const registry::InstanceKey& key, bool from_zone);
  void set(const registry::SetArgs& args, int64_t set_timestamp, bool from_zone);
  // Anti-entropy's: tells the peer at `addr` of a cancel made here at `cancelled_at`, which it
  // missed (its copy is not newer). False when the peer is unknown or its queue is full.
  bool send_cancel(const std::string& addr, const registry::InstanceKey& key, int64_t cancelled_at);

  // Whom to read state from (syncup, anti-entropy): every same-zone peer and one random node of
  // each other zone.
  std::vector<std::string> peer_addrs();
  // The same-zone nodes, this one included, sorted by address.
  std::vector<NodeView> same_zone_nodes() const;
  void write_metrics(metrics::TextWriter& out) const;

  void on_reply(PeerLink& link, const PeerItem& item, int code,
                const boost::json::value& data) override;
  void on_back(PeerLink& link) override;

  // Queues a register of `inst` (replication=true) to the peer at `addr`; false if it is not a
  // peer. For anti-entropy; runs inside a registry visitor.
  bool send_register(const std::string& addr, const registry::Instance& inst);
  // Called on the replicator's thread with the address of a peer that needs a resync: it
  // answers again after writes to it were lost, or it was just discovered (it may lack what
  // this node holds, infra.discovery included, and this node what it holds). Set before start().
  void on_resync(std::function<void(const std::string& addr)> fn) { on_resync_ = std::move(fn); }
  // The links of the current peers, for the cluster simulation's transport (tests/sim/), which
  // drives them instead of start(). Replicator thread.
  std::vector<PeerLink*> current_links() const;

 private:
  struct PeerSet {
    std::vector<PeerLink*> same_zone;
    std::vector<std::vector<PeerLink*>> other_zones;  // one list per zone
  };
  std::shared_ptr<const PeerSet> peers() const;
  // The link to `addr` in `set`, or null.
  static PeerLink* link_to(const std::string& addr, const PeerSet& set);
  // Rebuilds the peer set from the configured nodes and `found`; replicator thread (or before
  // start()).
  void use_peers(const std::vector<std::string>& found_nodes, const ZoneNodes& found_zones);
  PeerLink& link_for(const std::string& addr);
  // Runs the link's loop on the replicator's io_context.
  void spawn(PeerLink& link);
  // `renewed_mono`: the lease the write carries (PeerItem::renewed_mono), 0 for none.
  void fan_out(WriteKind kind, const std::string& body, const std::optional<InstanceId>& renew_of,
               int64_t renewed_mono, bool from_zone);
  boost::asio::awaitable<void> syncup(std::function<void(bool)> synced_once);
  bool configured(const std::string& addr) const;
  // The registry's wall clock: what forms measure leases and cancels by.
  int64_t wall_now() const;
  // The discovered nodes that may be peers now: verified (or trusted), at most
  // max_discovered_peers per zone; starts the verification of the others. Replicator thread.
  std::vector<std::string> admitted(const std::vector<std::string>& found, std::string_view zone);
  // GET /discovery/nodes at `addr`, without the peer token: a discovery node lists itself.
  boost::asio::awaitable<void> verify(std::string addr);

  registry::Registry& registry_;
  const ClusterOptions options_;
  boost::asio::io_context ioc_;
  QueueBudget budget_;  // the links' queues together: declared before them, which give it back
  // Every link made, by address; replicator thread only. Links of nodes that left are stopped
  // and kept in retired_ until the end, since their loop may still be finishing.
  std::map<std::string, std::unique_ptr<PeerLink>> links_;
  std::vector<std::unique_ptr<PeerLink>> retired_;
  bool running_ = false;
  mutable std::mutex peers_mu_;
  std::shared_ptr<const PeerSet> peers_;
  std::atomic<bool> has_peers_{false};  // peers_ is not empty; read without the mutex
  std::mutex rng_mu_;
  std::mt19937 rng_;
  std::thread thread_;
  std::atomic<bool> synced_{false};
  std::function<void(std::string_view)> syncup_answer_;
  std::atomic<uint64_t> adopted_{0};
  std::function<void(const std::string&)> on_resync_;
  // Membership (replicator thread): discovered nodes that answered as discovery nodes, those
  // being checked or that failed (the time after which to try again), the last lists found.
  std::set<std::string> verified_;
  std::map<std::string, std::chrono::steady_clock::time_point> unverified_;
  std::vector<std::string> found_nodes_;
  ZoneNodes found_zones_;
  std::set<std::string> over_cap_warned_;
  std::atomic<uint64_t> unverified_count_{0};
  std::atomic<uint64_t> over_cap_count_{0};
};

}  // namespace muster::cluster
