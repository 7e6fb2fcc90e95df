#pragma once
// Where a node's peers are (docs/decisions.md §6): the same-zone nodes and other zones' nodes, as
// given by --nodes and --zones. Threading: plain values.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace muster::tls {
struct ClientContext;
template <typename T>
class Reloadable;
}  // namespace muster::tls

namespace muster::cluster {

// How a node speaks to its peers (docs/security.md).
struct PeerCredentials {
  // Sent as "Authorization: Bearer <token>" on every request; "" none.
  std::string token;
  // TLS to the peers (whose listeners serve it too), with this node's certificate as its client
  // certificate; reloaded on SIGHUP. Null: plain HTTP.
  std::shared_ptr<tls::Reloadable<tls::ClientContext>> tls;
};

// Other zones' nodes: zone name and its nodes' host:port, in the order given.
using ZoneNodes = std::vector<std::pair<std::string, std::vector<std::string>>>;

struct ClusterOptions {
  std::string self;  // this node's advertised host:port; how it knows itself in `nodes`
  std::string region, zone;
  std::vector<std::string> nodes;  // same zone; may include self
  ZoneNodes zones;
  size_t queue_capacity = 100'000;         // per peer
  size_t queue_bytes = 256 * 1024 * 1024;  // all peers' queues together (QueueBudget)
  std::chrono::nanoseconds peer_timeout = std::chrono::seconds(3);
  std::chrono::nanoseconds syncup_retry = std::chrono::seconds(5);
  PeerCredentials peer;
  // Membership by rule (issue 27.1, docs/security.md "Trust boundaries"). A discovered node (an
  // infra.discovery entry not in `nodes`/`zones`) becomes a peer only once it answered
  // GET /discovery/nodes listing itself, unless `trust_discovered` (the node is secured: only a
  // peer or an admin can write such an entry), and at most `max_discovered_peers` per zone.
  bool trust_discovered = false;
  size_t max_discovered_peers = 64;
  // Whether `peer.token` goes to discovered peers too: only over TLS whose server certificates
  // the peer CA checks. Otherwise the peer secret goes to the configured nodes alone.
  bool token_to_discovered = false;
  // Which node of another zone gets a write; 0 = seeded from std::random_device. The cluster
  // simulation sets it, so that a seed replays the same run.
  uint32_t random_seed = 0;
};

// "host:port,host:port" → the addresses, or a message naming the bad part.
std::variant<std::vector<std::string>, std::string> parse_nodes(std::string_view text);
// "zone=host:port;host:port,zone2=host:port" → zone and addresses, or a message.
std::variant<ZoneNodes, std::string> parse_zones(std::string_view text);

}  // namespace muster::cluster
