#include "node/node.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>

#include "cluster/self_address.h"

static_assert(muster::api::kMembershipAppid == muster::cluster::kSelfAppid,
              "the appid a write of which needs a peer is the one peers are read from");

namespace muster::node {

Node::Node(NodeOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      registry_(clock_, options_.registry),
      access_(options_.tokens),
      write_limit_(clock_, options_.max_writes_per_source) {}

Node::~Node() {
  stop();
}

std::variant<std::monostate, std::string> Node::start(boost::asio::io_context& main) {
  if (started_) return std::monostate{};
  http::ServerOptions sopts = options_.server;
  if (options_.tls.enabled()) {
    std::string problem;
    server_tls_ = std::make_shared<tls::ServerTls>(
        [files = options_.tls] { return tls::server_context(files); }, problem);
    if (!problem.empty()) return "TLS: " + problem;
    tls::ClientFiles mine{
        options_.peer_server_ca.empty() ? options_.tls.peer_ca : options_.peer_server_ca,
        options_.tls.cert, options_.tls.key};
    peer_tls_ = std::make_shared<tls::ClientTls>(
        [mine]() -> std::variant<tls::ClientContext, std::string> {
          auto built = tls::client_context(mine);
          if (auto* problem = std::get_if<std::string>(&built)) return *problem;
          return tls::ClientContext{std::get<0>(std::move(built))};
        },
        problem);
    if (!problem.empty()) return "TLS to peers: " + problem;
    sopts.tls = server_tls_;
    access_.require_peer_identity(!options_.tls.peer_ca.empty());
  }
  sopts.reject_body = [this](std::string_view path, std::string message) {
    for (const auto& api : apis_)
      if (auto answer = api->reject_body(path, message)) return std::move(*answer);
    return http::Response::text(413, std::move(message));
  };
  sopts.observe = [this](std::string_view route, const http::Response& r, int64_t ns) {
    request_metrics_->observe(route, r, ns);
  };
  // The identity needs the bound port when the options ask for port 0, so the server binds
  // first, then the APIs and their routes are built, and only then do the workers start.
  server_ = std::make_unique<http::Server>(sopts, router_);
  try {
    server_->listen();
  } catch (const std::system_error& e) {
    server_.reset();
    return std::string(e.what());
  }
  // What the node held before it stopped is back before it serves or syncs with its peers.
  if (!options_.data.dir.empty()) {
    auto opened = store::DataDir::open(options_.data, registry_, restored_);
    if (auto* problem = std::get_if<std::string>(&opened)) {
      server_.reset();
      return *problem;
    }
    data_ = std::move(std::get<std::unique_ptr<store::DataDir>>(opened));
    writes_.set_after_write([data = data_.get()] {
      data->flush();
      return data->healthy();
    });
  }
  started_ = true;
  init_protect_ = std::make_unique<api::InitProtect>(clock_, options_.init_protect,
                                                     options_.init_protect_timeout);
  const auto bound_address = boost::asio::ip::make_address(server_->bound_host());
  const auto local_addresses = cluster::local_addresses();
  bound_ = cluster::host_port(bound_address, server_->port());
  // A node bound to every address advertises one that peers and clients can reach.
  const std::string advertised = cluster::host_port(
      cluster::advertised_address(bound_address, local_addresses), server_->port());
  if (options_.advertise.empty() && bound_address.is_unspecified()) {
    spdlog::warn("{} binds every address: advertising {} (set --advertise to choose)", bound_,
                 advertised);
  }
  identity_ = {options_.region, options_.zone, options_.env, options_.hostname,
               options_.advertise.empty() ? advertised : options_.advertise};
  if (identity_.hostname.empty()) identity_.hostname = identity_.advertise_addr;

  // This node may be among the nodes under another name (localhost:7190 for 127.0.0.1:7190).
  std::vector<std::string> peers;
  for (const std::string& addr : options_.nodes) {
    if (addr != identity_.advertise_addr &&
        cluster::names_this_node(addr, bound_address, server_->port(), local_addresses)) {
      spdlog::info("--nodes: {} is this node", addr);
      continue;
    }
    peers.push_back(addr);
  }
  build_cluster(peers);

  apis_ = api::make_apis({registry_, writes_, clock_, identity_, *init_protect_, replicator_.get(),
                          access_, write_limit_},
                         options_.apis);
  for (const auto& api : apis_)
    api->add_routes(router_);
  auto routes = router_.paths();
  routes.push_back("/metrics");
  request_metrics_ = std::make_unique<api::RequestMetrics>(std::move(routes));
  api::MetricsSources sources{&registry_,
                              server_.get(),
                              request_metrics_.get(),
                              [this] { return init_protect_->active(); },
                              {}};
  sources.more.push_back([this](metrics::TextWriter& w) { replicator_->write_metrics(w); });
  sources.more.push_back([this](metrics::TextWriter& w) {
    access_.write_metrics(w);
    if (data_) data_->write_metrics(w);
    w.family("muster_writes_limited_total");
    w.sample("muster_writes_limited_total", static_cast<double>(write_limit_.refused()));
  });
  for (const auto& api : apis_)
    sources.more.push_back([&api = *api](metrics::TextWriter& w) { api.write_metrics(w); });
  if (anti_entropy_) {
    sources.more.push_back([this](metrics::TextWriter& w) { anti_entropy_->write_metrics(w); });
  }
  api::add_metrics_route(router_, std::move(sources));
  server_->start();
  if (data_) data_->start();
  // A node that restored instances from its data directory learns from its peers' syncup answers
  // which of them were cancelled or evicted while it was down.
  auto peer_keys = std::make_shared<std::unordered_set<std::string>>();
  if (data_ && restored_.instances > 0) {
    if (replicator_->peer_addrs().empty()) {
      data_->drop_unconfirmed_never();  // no peer to ask: what the disk held stands
    } else {
      replicator_->on_syncup_answer([peer_keys](std::string_view body) {
        store::DataDir::add_instance_keys(body, *peer_keys);
      });
    }
  }
  // Reads open once a peer's state is here (or init-protect times out); then this node
  // registers itself (docs/decisions.md §6.7).
  replicator_->start([this, peer_keys](bool synced) {
    if (synced && data_ && restored_.instances > 0) {
      const size_t dropped = data_->drop_unconfirmed(*peer_keys);
      spdlog::info(
          "data dir: {} restored instance(s) that no peer holds any more (cancelled or evicted "
          "while this node was down) removed",
          dropped);
    }
    if (synced) init_protect_->end();
    if (self_) self_->start();
    if (anti_entropy_) anti_entropy_->start();
  });
  evict_timer_ = std::make_unique<boost::asio::steady_timer>(main);
  schedule_eviction();
  return std::monostate{};
}

void Node::build_cluster(const std::vector<std::string>& nodes_not_self) {
  cluster::ClusterOptions copts;
  copts.self = identity_.advertise_addr;
  copts.region = options_.region;
  copts.zone = options_.zone;
  copts.nodes = nodes_not_self;
  copts.zones = options_.zones;
  copts.peer_timeout = options_.peer_timeout;
  copts.queue_capacity = options_.replication_queue;
  copts.queue_bytes = options_.replication_queue_bytes;
  if (!options_.tokens.peer.empty()) copts.peer.token = options_.tokens.peer.front();
  copts.peer.tls = peer_tls_;
  // Membership by rule (docs/security.md, "Trust boundaries"): on a secured node only a peer or
  // an admin writes infra.discovery, so its entries are taken as they are; on an open node a
  // discovered node is first asked whether it is one. The peer token goes to discovered nodes
  // only when the peer CA checks their server certificates.
  copts.trust_discovered = !options_.tokens.empty() || !options_.tls.peer_ca.empty();
  copts.token_to_discovered =
      peer_tls_ != nullptr && options_.peer_server_ca.empty() && !options_.tls.peer_ca.empty();
  copts.max_discovered_peers = options_.max_discovered_peers;
  replicator_ = std::make_unique<cluster::Replicator>(registry_, std::move(copts));
  writes_.set_replicator(replicator_.get());
  if (options_.self_register) {
    self_ = std::make_unique<cluster::SelfRegistration>(
        registry_, writes_, *replicator_,
        cluster::SelfIdentity{options_.region, options_.zone, options_.env, identity_.hostname,
                              identity_.advertise_addr, server_tls_ ? "https" : "http"},
        // Every 30 s as the original, or often enough for a shorter evict_after.
        std::min<std::chrono::nanoseconds>(std::chrono::seconds(30),
                                           options_.registry.evict_after / 3));
  }
  if (options_.anti_entropy.count() > 0) {
    anti_entropy_ = std::make_unique<cluster::AntiEntropy>(
        registry_, *replicator_, options_.anti_entropy, options_.peer_timeout);
    // A peer that answers again after writes to it were lost, or one just discovered, gets one
    // round at once.
    replicator_->on_resync([this](const std::string& addr) { anti_entropy_->resync(addr); });
  }
}

std::string Node::reload_tls() {
  if (!server_tls_) return {};
  if (auto problem = server_tls_->reload(); !problem.empty()) return problem;
  if (auto problem = peer_tls_->reload(); !problem.empty()) return "to peers: " + problem;
  return {};
}

void Node::schedule_eviction() {
  // Eviction runs on the owner's thread, so a long run never holds up a request worker.
  evict_timer_->expires_after(options_.evict_interval);
  evict_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    const auto report = registry_.tick();
    for (const auto& api : apis_)
      api->on_tick();
    malloc_trim(0);  // what a burst of clients left in the heap goes back to the system
    // At info only when something happened: an eviction, or the guard switching.
    const bool news = report.evicted > 0 || report.protecting != was_protecting_;
    was_protecting_ = report.protecting;
    spdlog::log(news ? spdlog::level::info : spdlog::level::debug,
                "eviction: {} expired, {} evicted, protect mode {}", report.expired, report.evicted,
                report.protecting ? "on" : "off");
    schedule_eviction();
  });
}

void Node::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  if (evict_timer_) evict_timer_->cancel();
  for (const auto& api : apis_)
    api->on_stop();
  if (self_) self_->cancel();
  server_->shutdown();
  // What clients wrote last, and this node's cancel, still reach the peers: the queues get a
  // second to drain.
  replicator_->stop(std::chrono::seconds(1));
  if (data_) {
    data_->close();  // after the last write: the final snapshot holds everything
    writes_.set_after_write(nullptr);
  }
}

}  // namespace muster::node
