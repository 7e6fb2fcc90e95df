#pragma once
// A registry node assembled from its options: the registry, the HTTP server with the native API
// and /metrics, replication to peers, the start-up syncup, the node's own registration as
// infra.discovery, anti-entropy and the eviction timer, started and stopped in one order (as
// sd::Service does for muster sd, and Bilibili's discovery.New() for its node). `muster serve`
// only turns flags into NodeOptions; tests can build a node in process.
// Threading: construct, start(), stop() and destroy on one thread, which also runs the
// io_context given to start() (the eviction timer runs there); the node's own threads are the
// server's workers and the replicator's.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "api/all_apis.h"
#include "api/api.h"
#include "api/metrics_api.h"
#include "cluster/anti_entropy.h"
#include "cluster/cluster_options.h"
#include "cluster/replicator.h"
#include "cluster/self_registration.h"
#include "cluster/writes.h"
#include "common/clock.h"
#include "common/tls.h"
#include "http/server.h"
#include "registry/registry.h"
#include "store/data_dir.h"

namespace muster::node {

struct NodeOptions {
  // Where to listen and the limits; reject_body and observe are the node's own.
  http::ServerOptions server;
  registry::Options registry;
  api::ApiOptions apis;
  // Init-protect (docs/decisions.md §5.4): reads refused until the first syncup or the timeout.
  bool init_protect = false;
  std::chrono::nanoseconds init_protect_timeout = std::chrono::seconds(60);
  std::string region = "local", zone = "local", env = "dev";
  std::string hostname;   // empty: the advertised address
  std::string advertise;  // empty: the bound address (a usable one when bound to every address)
  std::vector<std::string> nodes;  // same zone, this node included under any name
  cluster::ZoneNodes zones;
  std::chrono::nanoseconds peer_timeout = std::chrono::seconds(3);
  size_t replication_queue = 100'000;
  size_t replication_queue_bytes = 256 * 1024 * 1024;
  size_t max_discovered_peers = 64;  // per zone (cluster::ClusterOptions)
  bool self_register = true;
  std::chrono::nanoseconds anti_entropy = std::chrono::seconds(30);  // 0: never
  std::chrono::nanoseconds evict_interval = std::chrono::seconds(60);
  // Who may do what (docs/security.md); none: everything open. The node sends the first peer
  // token to its peers.
  api::Tokens tokens;
  // Clients' writes per second from one source address (0: no limit; docs/security.md).
  double max_writes_per_source = 0;
  // HTTPS (docs/security.md): the node's certificate and key, the CA of required client
  // certificates, the peer CA. No certificate: plain HTTP. With TLS the node speaks TLS to its
  // peers too, presenting its own certificate.
  tls::ServerFiles tls;
  // CA of the peers' server certificates; empty: the peer CA, else the system's CAs.
  std::string peer_server_ca;
  // The registry on disk (docs/architecture.md, "The data directory"); empty dir: memory only.
  store::DataDirOptions data;
};

class Node {
 public:
  Node(NodeOptions options, const Clock& clock);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Binds, builds the APIs, starts serving and replicating; eviction runs on `main`. An error
  // message (nothing started) when the address cannot be bound.
  std::variant<std::monostate, std::string> start(boost::asio::io_context& main);
  // Cancels this node's registration, answers parked polls, stops the workers, and gives the
  // peers' queues a second to drain. Idempotent; the destructor calls it.
  void stop();

  const std::string& bound() const { return bound_; }  // host:port actually bound
  const api::NodeIdentity& identity() const { return identity_; }
  // What the data directory held at start (zeros without one).
  const store::RestoreReport& restored() const { return restored_; }
  registry::Registry& registry() { return registry_; }
  // New tokens (SIGHUP): the next request is checked against them. Peers keep the token they
  // were sent with until the node restarts, so a new peer token goes in beside the old one.
  void set_tokens(api::Tokens tokens) { access_.set(std::move(tokens)); }
  // Reads the certificate, key and CA files again (SIGHUP): new connections, served and to
  // peers, use them. "" on success (or without TLS), else why, and the old ones stay.
  std::string reload_tls();

 private:
  void build_cluster(const std::vector<std::string>& nodes_not_self);
  void schedule_eviction();

  NodeOptions options_;
  const Clock& clock_;
  registry::Registry registry_;
  cluster::Writes writes_{registry_};  // the one write path: the native API, self-registration
  api::Access access_;
  api::WriteLimit write_limit_;
  std::unique_ptr<api::InitProtect> init_protect_;
  http::Router router_;
  std::vector<std::unique_ptr<api::Api>> apis_;  // api/all_apis.cpp
  std::unique_ptr<api::RequestMetrics> request_metrics_;
  std::unique_ptr<store::DataDir> data_;        // null without a data directory
  std::shared_ptr<tls::ServerTls> server_tls_;  // null without TLS
  std::shared_ptr<tls::ClientTls> peer_tls_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<cluster::Replicator> replicator_;
  // After the replicator, whose io_context they use: destroyed first.
  std::unique_ptr<cluster::SelfRegistration> self_;
  std::unique_ptr<cluster::AntiEntropy> anti_entropy_;
  std::unique_ptr<boost::asio::steady_timer> evict_timer_;
  api::NodeIdentity identity_;
  store::RestoreReport restored_;
  std::string bound_;
  bool was_protecting_ = false;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace muster::node
