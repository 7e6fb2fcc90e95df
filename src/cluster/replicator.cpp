#include "cluster/replicator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include "cluster/peer_form.h"

namespace muster::cluster {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

namespace {

std::string_view str(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

int64_t num(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

// An instance as rendered by fetch/all or a -409 answer, as a replicated register: the peer's
// dirty_timestamp decides which copy wins.
std::optional<registry::RegisterArgs> instance_args(const boost::json::value& v) {
  if (!v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  registry::RegisterArgs a;
  a.region = str(o, "region");
  a.zone = str(o, "zone");
  a.env = str(o, "env");
  a.appid = str(o, "appid");
  a.hostname = str(o, "hostname");
  a.version = str(o, "version");
  if (a.zone.empty() || a.env.empty() || a.appid.empty() || a.hostname.empty()) return std::nullopt;
  if (const auto* addrs = o.if_contains("addrs"); addrs != nullptr && addrs->is_array()) {
    for (const auto& addr : addrs->get_array())
      if (addr.is_string()) a.addrs.emplace_back(addr.get_string());
  }
  if (const auto* md = o.if_contains("metadata"); md != nullptr && md->is_object()) {
    for (const auto& [k, val] : md->get_object()) {
      if (val.is_string()) a.metadata.emplace_back(k, val.get_string());
    }
    std::sort(a.metadata.begin(), a.metadata.end());
  }
  a.status = static_cast<int>(num(o, "status"));
  if (a.status != registry::kStatusUp && a.status != registry::kStatusDown)
    a.status = registry::kStatusUp;
  a.dirty_timestamp = num(o, "dirty_timestamp");
  if (a.dirty_timestamp <= 0) return std::nullopt;
  return a;
}

// Splits identity_key()'s form back into an InstanceKey viewing `k`.
registry::InstanceKey split_key(const std::string& k) {
  std::string_view parts[4];
  std::string_view rest = k;
  for (auto& p : parts) {
    const size_t at = rest.find('\0');
    p = rest.substr(0, at);
    rest.remove_prefix(at == std::string_view::npos ? rest.size() : at + 1);
  }
  return {parts[0], parts[1], parts[2], parts[3]};
}

// One GET with Connection: close; the body, or nullopt on any failure within `timeout`.
asio::awaitable<std::optional<std::string>> http_get(asio::io_context& ioc, const std::string& addr,
                                                     std::string_view target,
                                                     std::chrono::nanoseconds timeout) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos) co_return std::nullopt;
  tcp::resolver resolver(ioc);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(addr.substr(0, colon), addr.substr(colon + 1), kNoThrow);
  if (rec) co_return std::nullopt;
  tcp::socket socket(ioc);
  asio::steady_timer deadline(ioc);
  deadline.expires_after(timeout);
  deadline.async_wait([&socket](const boost::system::error_code& ec) {
    if (!ec) socket.close();
  });
  struct CancelOnExit {
    asio::steady_timer& t;
    ~CancelOnExit() { t.cancel(); }
  } cancel{deadline};
  auto [cec, ep] = co_await asio::async_connect(socket, endpoints, kNoThrow);
  if (cec || !socket.is_open()) co_return std::nullopt;
  const std::string request = "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + addr +
                              "\r\nConnection: close\r\n\r\n";
  auto [wec, w] = co_await asio::async_write(socket, asio::buffer(request), kNoThrow);
  if (wec) co_return std::nullopt;
  boost::beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  auto [ec, n] = co_await bhttp::async_read(socket, buffer, parser, kNoThrow);
  if (ec || parser.get().result_int() != 200) co_return std::nullopt;
  co_return std::move(parser.get().body());
}

}  // namespace

Replicator::Replicator(registry::Registry& registry, ClusterOptions options)
    : registry_(registry), options_(std::move(options)), rng_(std::random_device{}()) {
  for (const std::string& addr : options_.nodes) {
    if (addr == options_.self) continue;
    same_zone_.push_back(std::make_unique<PeerLink>(ioc_, addr, options_.queue_capacity,
                                                    options_.peer_timeout, *this));
  }
  for (const auto& [zone, addrs] : options_.zones) {
    if (zone == options_.zone) continue;
    auto& links = other_zones_.emplace_back();
    for (const std::string& addr : addrs)
      links.push_back(std::make_unique<PeerLink>(ioc_, addr, options_.queue_capacity,
                                                 options_.peer_timeout, *this));
  }
}

Replicator::~Replicator() {
  if (thread_.joinable()) stop(std::chrono::nanoseconds(0));
}

void Replicator::start(std::function<void()> synced) {
  const auto spawn = [this](PeerLink& link) {
    asio::co_spawn(ioc_, link.run(), [addr = link.addr()](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("replication to {} stopped: {}", addr, ex.what());
      }
    });
  };
  for (auto& link : same_zone_)
    spawn(*link);
  for (auto& zone : other_zones_)
    for (auto& link : zone)
      spawn(*link);
  asio::co_spawn(ioc_, syncup(std::move(synced)), asio::detached);
  thread_ = std::thread([this] { ioc_.run(); });
}

void Replicator::stop(std::chrono::nanoseconds flush) {
  if (!thread_.joinable()) return;
  const auto each = [this](auto fn) {
    for (auto& link : same_zone_)
      fn(*link);
    for (auto& zone : other_zones_)
      for (auto& link : zone)
        fn(*link);
  };
  asio::post(ioc_, [each] { each([](PeerLink& l) { l.stop(false); }); });
  const auto until = std::chrono::steady_clock::now() + flush;
  bool empty = false;
  while (!empty && std::chrono::steady_clock::now() < until) {
    empty = true;
    each([&](PeerLink& l) { empty = empty && l.queue_depth() == 0; });
    if (!empty) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ioc_.stop();
  thread_.join();
}

void Replicator::fan_out(std::string_view path, const std::string& body,
                         const std::string& coalesce_key, bool from_zone) {
  for (auto& link : same_zone_)
    link->enqueue({std::string(path), body, true, coalesce_key});
  if (from_zone) return;
  for (auto& zone : other_zones_) {
    size_t pick = 0;
    {
      std::lock_guard lock(rng_mu_);
      pick = std::uniform_int_distribution<size_t>(0, zone.size() - 1)(rng_);
    }
    // The other zone's node fans the write out in its zone (replication=false, from_zone=true).
    zone[pick]->enqueue({std::string(path), body, false, coalesce_key});
  }
}

void Replicator::registered(const registry::Instance& inst, bool from_zone) {
  if (has_peers()) fan_out("/discovery/register", register_form(inst), "", from_zone);
}

void Replicator::renewed(const registry::Instance& inst, bool from_zone) {
  if (has_peers())
    fan_out("/discovery/renew", renew_form(inst), identity_key(key_of(inst)), from_zone);
}

void Replicator::cancelled(const registry::InstanceKey& key, bool from_zone) {
  if (!has_peers()) return;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  fan_out("/discovery/cancel",
          cancel_form(options_.region, key,
                      std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()),
          "", from_zone);
}

void Replicator::set(const registry::SetArgs& args, int64_t set_timestamp, bool from_zone) {
  if (has_peers())
    fan_out("/discovery/set", set_form(options_.region, args, set_timestamp), "", from_zone);
}

void Replicator::on_reply(PeerLink& link, const PeerItem& item, int code,
                          const boost::json::value& data) {
  if (item.path != "/discovery/renew") return;
  if (code == -404) {
    // The peer lacks the instance, or holds an older copy: send it ours in full.
    registry_.read_instance(split_key(item.coalesce_key), [&](const registry::Instance& inst) {
      link.enqueue({"/discovery/register", register_form(inst), item.replication, ""});
    });
  } else if (code == -409) {
    // The peer's copy is newer: adopt it here, without fanning it out again.
    if (auto args = instance_args(data)) {
      registry_.register_instance(*args);
      ++adopted_;
    }
  }
}

std::vector<NodeView> Replicator::same_zone_nodes() const {
  std::vector<NodeView> out;
  out.push_back({options_.self, PeerStatus::kUp});
  for (const auto& link : same_zone_)
    out.push_back({link->addr(), link->status()});
  std::sort(out.begin(), out.end(),
            [](const NodeView& a, const NodeView& b) { return a.addr < b.addr; });
  return out;
}

void Replicator::write_metrics(metrics::TextWriter& out) const {
  std::vector<const PeerLink*> links;
  for (const auto& link : same_zone_)
    links.push_back(link.get());
  for (const auto& zone : other_zones_)
    for (const auto& link : zone)
      links.push_back(link.get());
  const auto each = [&](std::string_view name, std::string_view type, std::string_view help,
                        auto value) {
    out.family(name, type, help);
    for (const PeerLink* l : links)
      out.sample(name, {{"peer", l->addr()}}, static_cast<double>(value(*l)));
  };
  each("muster_replication_queue_depth", "gauge", "Writes waiting to be sent to the peer",
       [](const PeerLink& l) { return l.queue_depth(); });
  each("muster_replication_batches_total", "counter", "Pipelined batches sent to the peer",
       [](const PeerLink& l) { return l.counters().batches.load(); });
  each("muster_replication_items_total", "counter", "Writes the peer answered",
       [](const PeerLink& l) { return l.counters().items_sent.load(); });
  each("muster_replication_coalesced_total", "counter",
       "Renews not queued because one for the same instance was waiting",
       [](const PeerLink& l) { return l.counters().coalesced.load(); });
  each("muster_replication_dropped_total", "counter", "Writes dropped because the queue was full",
       [](const PeerLink& l) { return l.counters().dropped.load(); });
  each("muster_replication_failures_total", "counter",
       "Writes lost with a failed connection or answered -500",
       [](const PeerLink& l) { return l.counters().failures.load(); });
  each("muster_replication_peer_up", "gauge", "1 when the peer answers, 0 when it is lost",
       [](const PeerLink& l) { return l.status() == PeerStatus::kUp ? 1 : 0; });
  each("muster_replication_lag_seconds", "gauge",
       "Time from queueing to the peer's answer, for the oldest write of the last batch",
       [](const PeerLink& l) { return static_cast<double>(l.last_lag_ns()) / 1e9; });
  out.family("muster_replication_adopted_total", "counter",
             "Instances adopted from a peer that answered -409 with a newer copy");
  out.sample("muster_replication_adopted_total", static_cast<double>(adopted_.load()));
}

bool Replicator::apply_snapshot(std::string_view body, size_t& applied) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return false;
  const auto& o = v.get_object();
  const auto* code = o.if_contains("code");
  const auto* data = o.if_contains("data");
  if (code == nullptr || !code->is_int64() || code->get_int64() != 0) return false;
  if (data == nullptr || !data->is_object()) return false;
  for (const auto& [appid, list] : data->get_object()) {
    if (!list.is_array()) continue;
    for (const auto& inst : list.get_array()) {
      if (auto args = instance_args(inst)) {
        registry_.register_instance(*args);
        ++applied;
      }
    }
  }
  return true;
}

asio::awaitable<void> Replicator::syncup(std::function<void()> synced) {
  // Targets (spec §6.5): every same-zone peer, and one random node of each other zone.
  std::vector<std::string> targets;
  for (const auto& link : same_zone_)
    targets.push_back(link->addr());
  for (const auto& zone : other_zones_)
    targets.push_back(zone[std::uniform_int_distribution<size_t>(0, zone.size() - 1)(rng_)]->addr());
  if (targets.empty()) co_return;
  asio::steady_timer retry(ioc_);
  // Until one peer answered: a node that starts first has nobody to sync from, and keeps trying
  // while its init-protect lasts (the caller ends that on its own timeout too).
  for (int round = 0; round < 1000 && !synced_; ++round) {
    for (const std::string& addr : targets) {
      auto body = co_await http_get(ioc_, addr, "/discovery/fetch/all", std::chrono::seconds(30));
      size_t applied = 0;
      if (body && apply_snapshot(*body, applied)) {
        spdlog::info("syncup from {}: {} instances", addr, applied);
        if (!synced_.exchange(true) && synced) synced();
      } else {
        spdlog::info("syncup from {} failed", addr);
      }
    }
    if (synced_) break;
    retry.expires_after(options_.syncup_retry);
    auto [ec] = co_await retry.async_wait(kNoThrow);
    if (ec) break;
  }
}

}  // namespace muster::cluster
