#include "cluster/replicator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <set>

#include "cluster/http_get.h"
#include "cluster/log_failure.h"
#include "cluster/peer_form.h"
#include "cluster/snapshot.h"
#include "common/duration.h"
#include "wire/instance_json.h"

namespace muster::cluster {

namespace {

// In Replicator::unverified_: a check of the node is under way.
constexpr auto kChecking = std::chrono::steady_clock::time_point::max();

// The lease a copy of `inst` carries to a peer: its last renew here (registry monotonic time), or
// 0 for an instance without a lease.
int64_t lease_of(const registry::Instance& inst) {
  return inst.lease ? inst.renew_mono : 0;
}

}  // namespace

int64_t Replicator::wall_now() const {
  return registry_.clock().wall_ns();
}

std::vector<PeerLink*> Replicator::current_links() const {
  const auto set = peers();
  std::vector<PeerLink*> out(set->same_zone);
  for (const auto& zone : set->other_zones)
    out.insert(out.end(), zone.begin(), zone.end());
  return out;
}

namespace asio = boost::asio;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

Replicator::Replicator(registry::Registry& registry, ClusterOptions options)
    : registry_(registry),
      options_(std::move(options)),
      budget_(options_.queue_bytes),
      rng_(options_.random_seed != 0 ? options_.random_seed : std::random_device{}()) {
  use_peers({}, {});
}

Replicator::~Replicator() {
  if (thread_.joinable()) stop(std::chrono::nanoseconds(0));
}

std::shared_ptr<const Replicator::PeerSet> Replicator::peers() const {
  std::lock_guard lock(peers_mu_);
  return peers_;
}

PeerLink& Replicator::link_for(const std::string& addr) {
  auto& slot = links_[addr];
  if (slot && slot->stopped()) retired_.push_back(std::move(slot));
  if (!slot) {
    slot = std::make_unique<PeerLink>(ioc_, addr, options_.queue_capacity, options_.peer_timeout,
                                      *this, registry_.clock(), credentials_for(addr), &budget_);
    if (running_) {
      spawn(*slot);
      // A node discovered while running: make each side hold what the other holds.
      if (on_resync_) on_resync_(addr);
    }
  }
  return *slot;
}

void Replicator::spawn(PeerLink& link) {
  asio::co_spawn(ioc_, link.run(), log_failure("replication to " + link.addr()));
}

bool Replicator::configured(const std::string& addr) const {
  if (std::find(options_.nodes.begin(), options_.nodes.end(), addr) != options_.nodes.end())
    return true;
  for (const auto& [zone, addrs] : options_.zones)
    if (std::find(addrs.begin(), addrs.end(), addr) != addrs.end()) return true;
  return false;
}

PeerCredentials Replicator::credentials_for(const std::string& addr) const {
  if (options_.token_to_discovered || configured(addr)) return options_.peer;
  return PeerCredentials{{}, options_.peer.tls};
}

std::vector<std::string> Replicator::admitted(const std::vector<std::string>& found,
                                              std::string_view zone) {
  constexpr size_t kChecksInFlight = 16;
  std::vector<std::string> out;
  size_t discovered = 0;
  const auto now = std::chrono::steady_clock::now();
  for (const std::string& addr : found) {
    if (addr == options_.self || configured(addr)) {
      out.push_back(addr);
      continue;
    }
    if (!options_.trust_discovered && !verified_.contains(addr)) {
      const auto it = unverified_.find(addr);
      const bool due = it == unverified_.end() || (it->second != kChecking && it->second <= now);
      const auto checking =
          static_cast<size_t>(std::count_if(unverified_.begin(), unverified_.end(),
                                            [](const auto& u) { return u.second == kChecking; }));
      if (due && checking < kChecksInFlight) {
        unverified_[addr] = kChecking;
        asio::co_spawn(ioc_, verify(addr), log_failure("checking " + addr));
      }
      continue;
    }
    if (discovered >= options_.max_discovered_peers) {
      ++over_cap_count_;
      if (over_cap_warned_.insert(addr).second)
        spdlog::warn(
            "infra.discovery lists more than {} discovered nodes in zone {}: {} is not made a "
            "peer (--max-discovered-peers)",
            options_.max_discovered_peers, zone, addr);
      continue;
    }
    ++discovered;
    out.push_back(addr);
  }
  return out;
}

asio::awaitable<void> Replicator::verify(std::string addr) {
  // No token: the peer secret goes only to nodes proven as peers (credentials_for). (Named, not
  // a temporary in the co_await: GCC 12 frees such temporaries twice.)
  const PeerCredentials anonymous{{}, options_.peer.tls};
  const auto got =
      co_await http_get(ioc_, addr, "/discovery/nodes", options_.peer_timeout, anonymous);
  std::string why = got.error;
  bool lists_itself = false;
  if (got.body) {
    const auto envelope = wire::read_envelope(*got.body);
    if (envelope && envelope->code == 0 && envelope->data.is_array()) {
      for (const auto& node : envelope->data.get_array())
        if (node.is_object() && wire::json_string(node.get_object(), "addr") == addr)
          lists_itself = true;
      why = "its node list does not name it";
    } else {
      why = envelope ? "it answered code " + std::to_string(envelope->code)
                     : "its answer is not a discovery envelope";
    }
  }
  if (!lists_itself) {
    ++unverified_count_;
    unverified_[addr] = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    spdlog::warn(
        "infra.discovery entry {} is not made a peer: it did not answer as a discovery node "
        "({}); asking again in 30s",
        addr, why);
    co_return;
  }
  spdlog::info("infra.discovery entry {} answered as a discovery node: it is a peer now", addr);
  unverified_.erase(addr);
  verified_.insert(addr);
  const auto nodes = found_nodes_;
  const auto zones = found_zones_;
  use_peers(nodes, zones);
}

void Replicator::use_peers(const std::vector<std::string>& found_nodes,
                           const ZoneNodes& found_zones) {
  if (&found_nodes != &found_nodes_) found_nodes_ = found_nodes;
  if (&found_zones != &found_zones_) found_zones_ = found_zones;
  // Forget the checks of nodes no longer listed, so that the map stays as small as the app.
  for (auto it = unverified_.begin(); it != unverified_.end();) {
    bool listed = std::find(found_nodes.begin(), found_nodes.end(), it->first) != found_nodes.end();
    for (const auto& [zone, addrs] : found_zones)
      listed = listed || std::find(addrs.begin(), addrs.end(), it->first) != addrs.end();
    it = listed || it->second == kChecking ? std::next(it) : unverified_.erase(it);
  }
  std::vector<std::string> same(options_.nodes);
  const auto admitted_here = admitted(found_nodes, options_.zone);
  same.insert(same.end(), admitted_here.begin(), admitted_here.end());
  std::map<std::string, std::vector<std::string>> zones;
  for (const auto& [zone, addrs] : options_.zones)
    zones[zone].insert(zones[zone].end(), addrs.begin(), addrs.end());
  for (const auto& [zone, addrs] : found_zones) {
    const auto admitted_there = admitted(addrs, zone);
    zones[zone].insert(zones[zone].end(), admitted_there.begin(), admitted_there.end());
  }
  auto set = std::make_shared<PeerSet>();
  std::set<std::string> used;
  const auto take = [&](const std::string& addr) -> PeerLink* {
    if (addr == options_.self || !used.insert(addr).second) return nullptr;
    return &link_for(addr);
  };
  for (const std::string& addr : same)
    if (PeerLink* link = take(addr)) set->same_zone.push_back(link);
  for (const auto& [zone, addrs] : zones) {
    if (zone == options_.zone) continue;
    std::vector<PeerLink*> links;
    for (const std::string& addr : addrs)
      if (PeerLink* link = take(addr)) links.push_back(link);
    if (!links.empty()) set->other_zones.push_back(std::move(links));
  }
  for (auto& [addr, link] : links_) {
    if (!used.contains(addr) && !link->stopped()) {
      spdlog::info("peer {} left the node list", addr);
      link->stop(true);
    }
  }
  has_peers_ = !set->same_zone.empty() || !set->other_zones.empty();
  std::lock_guard lock(peers_mu_);
  peers_ = std::move(set);
}

void Replicator::discovered(std::vector<std::string> nodes, ZoneNodes zones) {
  if (ioc_.get_executor().running_in_this_thread()) {
    use_peers(nodes, zones);
    return;
  }
  asio::post(ioc_, [this, nodes = std::move(nodes), zones = std::move(zones)] {
    use_peers(nodes, zones);
  });
}

void Replicator::start(std::function<void(bool)> synced_once) {
  running_ = true;
  for (auto& [addr, link] : links_)
    spawn(*link);
  asio::co_spawn(ioc_, syncup(std::move(synced_once)), log_failure("syncup"));
  thread_ = std::thread([this] { ioc_.run(); });
}

void Replicator::stop(std::chrono::nanoseconds flush) {
  if (!thread_.joinable()) return;
  const auto set = peers();
  asio::post(ioc_, [set] {
    for (PeerLink* l : set->same_zone)
      l->stop(false);
    for (const auto& zone : set->other_zones)
      for (PeerLink* l : zone)
        l->stop(false);
  });
  const auto until = std::chrono::steady_clock::now() + flush;
  const auto empty = [&set] {
    size_t depth = 0;
    for (PeerLink* l : set->same_zone)
      depth += l->queue_depth();
    for (const auto& zone : set->other_zones)
      for (PeerLink* l : zone)
        depth += l->queue_depth();
    return depth == 0;
  };
  while (!empty() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ioc_.stop();
  thread_.join();
}

void Replicator::fan_out(WriteKind kind, const std::string& body,
                         const std::optional<InstanceId>& renew_of, int64_t renewed_mono,
                         bool from_zone) {
  const auto set = peers();
  for (PeerLink* link : set->same_zone)
    link->enqueue({kind, body, true, renew_of, renewed_mono});
  if (from_zone) return;
  for (const auto& zone : set->other_zones) {
    size_t pick = 0;
    {
      std::lock_guard lock(rng_mu_);
      pick = std::uniform_int_distribution<size_t>(0, zone.size() - 1)(rng_);
    }
    // The other zone's node fans the write out in its zone (replication=false, from_zone=true).
    zone[pick]->enqueue({kind, body, false, renew_of, renewed_mono});
  }
}

// Each hook formats nothing when there is nobody to send to: a single node's renew stays as cheap
// as without a replicator.
void Replicator::registered(const registry::Instance& inst, bool from_zone) {
  if (!has_peers_.load(std::memory_order_relaxed)) return;
  fan_out(WriteKind::kRegister, register_form(inst), std::nullopt, lease_of(inst), from_zone);
}

void Replicator::renewed(const registry::Instance& inst, bool from_zone) {
  if (!has_peers_.load(std::memory_order_relaxed)) return;
  fan_out(WriteKind::kRenew, renew_form(inst), InstanceId::of(key_of(inst)), lease_of(inst),
          from_zone);
}

void Replicator::cancelled(const registry::InstanceKey& key, bool from_zone) {
  if (!has_peers_.load(std::memory_order_relaxed)) return;
  fan_out(WriteKind::kCancel, cancel_form(options_.region, key, wall_now()), std::nullopt, 0,
          from_zone);
}

void Replicator::set(const registry::SetArgs& args, int64_t set_timestamp, bool from_zone) {
  if (!has_peers_.load(std::memory_order_relaxed)) return;
  fan_out(WriteKind::kSet, set_form(options_.region, args, set_timestamp), std::nullopt, 0,
          from_zone);
}

void Replicator::on_reply(PeerLink& link, const PeerItem& item, int code,
                          const boost::json::value& data) {
  if (item.kind != WriteKind::kRenew || !item.renew_of) return;
  if (code == -404) {
    // The peer lacks the instance, or holds an older copy: send it ours in full.
    registry_.read_instance(item.renew_of->view(), [&](const registry::Instance& inst) {
      link.enqueue({WriteKind::kRegister, register_form(inst), item.replication, std::nullopt,
                    lease_of(inst)});
    });
  } else if (code == -409) {
    // The peer's copy is newer: adopt it here, without fanning it out again.
    if (auto args = instance_args(data)) {
      registry_.register_instance(*args);
      ++adopted_;
    }
  }
}

void Replicator::on_back(PeerLink& link) {
  if (on_resync_) on_resync_(link.addr());
}

PeerLink* Replicator::link_to(const std::string& addr, const PeerSet& set) {
  PeerLink* target = nullptr;
  for (PeerLink* l : set.same_zone)
    if (l->addr() == addr) target = l;
  for (const auto& zone : set.other_zones)
    for (PeerLink* l : zone)
      if (l->addr() == addr) target = l;
  return target;
}

bool Replicator::send_register(const std::string& addr, const registry::Instance& inst) {
  const auto set = peers();
  PeerLink* target = link_to(addr, *set);
  if (target == nullptr) return false;
  return target->enqueue(
      {WriteKind::kRegister, register_form(inst), true, std::nullopt, lease_of(inst)});
}

bool Replicator::send_cancel(const std::string& addr, const registry::InstanceKey& key,
                             int64_t cancelled_at) {
  const auto set = peers();
  PeerLink* target = link_to(addr, *set);
  if (target == nullptr) return false;
  return target->enqueue(
      {WriteKind::kCancel, cancel_form(options_.region, key, cancelled_at), true, std::nullopt});
}

std::vector<std::string> Replicator::peer_addrs() {
  std::vector<std::string> out;
  const auto set = peers();
  for (const PeerLink* link : set->same_zone)
    out.push_back(link->addr());
  std::lock_guard lock(rng_mu_);
  for (const auto& zone : set->other_zones)
    out.push_back(zone[std::uniform_int_distribution<size_t>(0, zone.size() - 1)(rng_)]->addr());
  return out;
}

std::vector<NodeView> Replicator::same_zone_nodes() const {
  std::vector<NodeView> out;
  out.push_back({options_.self, PeerStatus::kUp});
  // Held for the loop: a range-for over peers()->same_zone would free the set (the temporary
  // shared_ptr dies before the loop) when use_peers() replaces it meanwhile.
  const auto set = peers();
  for (const PeerLink* link : set->same_zone)
    out.push_back({link->addr(), link->status()});
  std::sort(out.begin(), out.end(),
            [](const NodeView& a, const NodeView& b) { return a.addr < b.addr; });
  return out;
}

void Replicator::write_metrics(metrics::TextWriter& out) const {
  const auto set = peers();
  std::vector<const PeerLink*> links(set->same_zone.begin(), set->same_zone.end());
  for (const auto& zone : set->other_zones)
    links.insert(links.end(), zone.begin(), zone.end());
  const auto each = [&](std::string_view name, auto value) {
    out.family(name);
    for (const PeerLink* l : links)
      out.sample(name, {{"peer", l->addr()}}, static_cast<double>(value(*l)));
  };
  each("muster_replication_queue_depth", [](const PeerLink& l) { return l.queue_depth(); });
  each("muster_replication_batches_total",
       [](const PeerLink& l) { return l.counters().batches.load(); });
  each("muster_replication_items_total",
       [](const PeerLink& l) { return l.counters().items_sent.load(); });
  each("muster_replication_coalesced_total",
       [](const PeerLink& l) { return l.counters().coalesced.load(); });
  each("muster_replication_dropped_total",
       [](const PeerLink& l) { return l.counters().dropped.load(); });
  each("muster_replication_failures_total",
       [](const PeerLink& l) { return l.counters().failures.load(); });
  each("muster_replication_peer_up",
       [](const PeerLink& l) { return l.status() == PeerStatus::kUp ? 1 : 0; });
  each("muster_replication_lag_seconds",
       [](const PeerLink& l) { return static_cast<double>(l.last_lag_ns()) / 1e9; });
  out.family("muster_replication_queue_bytes");
  out.sample("muster_replication_queue_bytes", static_cast<double>(budget_.used()));
  out.family("muster_replication_budget_refused_total");
  out.sample("muster_replication_budget_refused_total", static_cast<double>(budget_.refused()));
  out.family("muster_replication_adopted_total");
  out.sample("muster_replication_adopted_total", static_cast<double>(adopted_.load()));
  out.family("muster_membership_unverified_total");
  out.sample("muster_membership_unverified_total", static_cast<double>(unverified_count_.load()));
  out.family("muster_membership_over_cap_total");
  out.sample("muster_membership_over_cap_total", static_cast<double>(over_cap_count_.load()));
}

asio::awaitable<void> Replicator::syncup(std::function<void(bool)> synced_once) {
  const std::vector<std::string> targets = peer_addrs();  // docs/decisions.md §6.6
  asio::steady_timer retry(ioc_);
  bool first_pass = true;
  auto wait = options_.syncup_retry;
  // Until one peer answered: a node that starts first has nobody to sync from, and keeps trying
  // (docs/decisions.md §6.6: Bilibili makes one pass). Bounded: 1000 rounds, about 16 hours once
  // the retries are a minute apart.
  for (int round = 0; round < 1000 && !targets.empty(); ++round) {
    for (const std::string& addr : targets) {
      const PeerCredentials credentials = credentials_for(addr);
      auto got = co_await http_get(ioc_, addr, "/discovery/fetch/all", std::chrono::seconds(30),
                                   credentials);
      const auto applied =
          got.body ? apply_snapshot(registry_, *got.body, got.sender_clock) : std::nullopt;
      if (applied) {
        spdlog::info("syncup from {}: {} instances{}", addr, applied->applied,
                     applied->lapsed > 0 ? fmt::format(", {} not taken: their lease had lapsed "
                                                       "there (not renewed for --evict-after)",
                                                       applied->lapsed)
                                         : std::string());
        if (applied->skipped > 0) {
          spdlog::warn(
              "syncup from {}: skipped {} unreadable entries (not valid UTF-8, or "
              "incomplete)",
              addr, applied->skipped);
        }
        synced_ = true;
        if (first_pass && syncup_answer_) syncup_answer_(*got.body);
      } else {
        spdlog::warn("syncup from {} failed: {}; next try in {}", addr,
                     got.body ? "the answer is not a fetch/all document" : got.error,
                     format_duration(wait));
      }
    }
    if (first_pass && synced_once) synced_once(synced_);
    first_pass = false;
    if (synced_) co_return;
    // A peer that stays down is asked less and less often (up to a minute apart).
    retry.expires_after(wait);
    wait = std::min<std::chrono::nanoseconds>(wait * 2, std::chrono::minutes(1));
    auto [ec] = co_await retry.async_wait(kNoThrow);
    if (ec) co_return;
  }
  if (first_pass && synced_once) synced_once(false);
}

}  // namespace muster::cluster
