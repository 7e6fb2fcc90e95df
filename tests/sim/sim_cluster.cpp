#include "sim/sim_cluster.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <unordered_set>

#include "api/all_apis.h"
#include "api/api.h"
#include "cluster/anti_entropy.h"
#include "cluster/http_get.h"
#include "cluster/peer_link.h"
#include "cluster/replicator.h"
#include "cluster/snapshot.h"
#include "cluster/writes.h"
#include "common/clock.h"
#include "http/router.h"
#include "registry/registry.h"
#include "store/data_dir.h"
#include "wire/form.h"
#include "wire/instance_json.h"

namespace muster::sim {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace fs = std::filesystem;

// The cluster's timers, scaled down so that a run of two simulated minutes holds many leases.
constexpr int64_t kStep = std::chrono::nanoseconds(100ms).count();
constexpr auto kEvictAfter = 6s;
constexpr int64_t kAntiEntropy = std::chrono::nanoseconds(2s).count();
constexpr int64_t kRenewEvery = std::chrono::nanoseconds(2s).count();
constexpr int64_t kSecond = std::chrono::nanoseconds(1s).count();
// The eviction run's interval. With the guard, twice the renew period, as in Bilibili (30 s
// renews, 60 s runs): the guard expects two renews per instance per run.
constexpr int64_t kEvictInterval = std::chrono::nanoseconds(1s).count();
constexpr int64_t kGuardedEvictInterval = 2 * kRenewEvery;
// How long after its last renew (or cancel) an instance may still be held somewhere: eviction's
// bound, one anti-entropy round for a copy adopted just before it lapsed, and a step of slack.
constexpr int64_t gone_bound(int64_t evict_interval) {
  return std::chrono::nanoseconds(kEvictAfter).count() + evict_interval + kAntiEntropy + kSecond;
}
// A quiet point: every node up and reachable for this long (three anti-entropy rounds and more).
constexpr int64_t kSettle = 4 * kAntiEntropy + kSecond;
// Faults strike in the first half of every epoch; the second half is quiet.
constexpr int64_t kEpoch = std::chrono::nanoseconds(24s).count();

constexpr std::string_view kEnv = "dev";
constexpr std::string_view kApp = "sim";

struct NodeSpec {
  const char* addr;
  const char* zone;
};
// Two zones: z1 with two nodes, z2 with one (each write reaches z2 through one node).
constexpr NodeSpec kNodes[] = {
    {"10.0.0.1:7171", "z1"}, {"10.0.0.2:7171", "z1"}, {"10.0.0.3:7171", "z2"}};
constexpr int kNodeCount = 3;

// What a node holds of one instance, as the invariants compare it.
struct Version {
  int64_t dirty = 0;
  int status = 0;
  bool operator==(const Version&) const = default;
};
using Held = std::map<std::pair<std::string, std::string>, Version>;

// An HTTP answer as the simulated network carries it.
struct Answer {
  int status = 0;
  std::string body;
  std::optional<int64_t> clock;  // X-Muster-Clock
};

// Runs a coroutine whose awaits all complete at once (the simulated fetches) to its end.
void run_now(asio::awaitable<void> work) {
  asio::io_context ioc;
  asio::co_spawn(ioc, std::move(work), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ioc.run();
}

// One node: the production objects, built afresh at a restart, with a data directory (a real
// one, under the simulation's temporary directory, written without the store's thread: the
// write path flushes before answering, and the simulation flushes every step for the rest, as
// the store's 100 ms pass does).
class SimNode {
 public:
  // `guard`: the node runs the self-protection guard (with a small registry's threshold and a
  // recomputed expectation every 20 s, so that it both engages and lets go in a run).
  SimNode(int index, uint64_t seed, int64_t wall_start, int64_t mono_start, fs::path dir,
          bool guard)
      : index_(index),
        clock_(wall_start, mono_start),
        seed_(seed),
        dir_(std::move(dir)),
        guard_(guard) {
    identity_.region = "sim";
    identity_.zone = kNodes[index].zone;
    identity_.env = std::string(kEnv);
    identity_.hostname = kNodes[index].addr;
    identity_.advertise_addr = kNodes[index].addr;
  }
  ~SimNode() { tear_down(); }

  // (Re)builds the node from what its data directory holds. `fetch` is the simulated network's
  // GET for anti-entropy. Returns the instances restored from the disk.
  size_t build(cluster::AntiEntropy::Fetch fetch) {
    tear_down();
    router_ = std::make_unique<http::Router>();
    registry::Options ro;
    ro.evict_after = kEvictAfter;
    ro.self_protection = guard_;
    ro.protect_min_instances = 4;
    ro.expect_reset_interval = 20s;
    ro.random_seed = seed_ * 7 + static_cast<uint64_t>(index_) + 1;
    registry_ = std::make_unique<registry::Registry>(clock_, ro);
    store::DataDirOptions dopts;
    dopts.dir = dir_.string();
    store::RestoreReport report;
    auto opened = store::DataDir::open(dopts, *registry_, report);
    if (auto* problem = std::get_if<std::string>(&opened))
      throw std::runtime_error("data dir: " + *problem);
    data_ = std::move(std::get<std::unique_ptr<store::DataDir>>(opened));
    restored_ = report.instances;
    writes_ = std::make_unique<cluster::Writes>(*registry_);
    writes_->set_after_write([data = data_.get()] {
      data->flush();
      return data->healthy();
    });
    cluster::ClusterOptions co;
    co.self = kNodes[index_].addr;
    co.region = "sim";
    co.zone = kNodes[index_].zone;
    std::map<std::string, std::vector<std::string>> zones;
    for (const NodeSpec& n : kNodes) {
      if (n.addr == co.self) continue;
      if (co.zone == n.zone)
        co.nodes.emplace_back(n.addr);
      else
        zones[n.zone].emplace_back(n.addr);
    }
    co.zones.assign(zones.begin(), zones.end());
    co.random_seed = static_cast<uint32_t>(seed_ * 13 + static_cast<uint64_t>(index_) + 1);
    replicator_ = std::make_unique<cluster::Replicator>(*registry_, co);
    writes_->set_replicator(replicator_.get());
    anti_entropy_ = std::make_unique<cluster::AntiEntropy>(
        *registry_, *replicator_, std::chrono::nanoseconds(kAntiEntropy), 1s, std::move(fetch));
    replicator_->on_resync([this](const std::string& addr) { resyncs_.push_back(addr); });
    access_ = std::make_unique<api::Access>();
    write_limit_ = std::make_unique<api::WriteLimit>(clock_, 0);
    init_protect_ = std::make_unique<api::InitProtect>(clock_, false, 0s);
    const api::ApiContext context{*registry_,     *writes_,          clock_,   identity_,
                                  *init_protect_, replicator_.get(), *access_, *write_limit_};
    // The Consul API's checks are not run here (their runner is a thread with sockets): a check
    // turning critical is the same write through CheckWrites that /v1/agent/check/fail makes.
    api::ApiOptions options;
    options.consul.run_checks = false;
    apis_ = api::make_apis(context, options);
    for (const auto& api : apis_)
      api->add_routes(*router_);
    resyncs_.clear();
    return restored_;
  }

  // The node dies as kill -9 leaves it: its disk holds what was flushed, or nothing when
  // `keep_disk` is false (a machine replaced).
  void kill(bool keep_disk) {
    const fs::path image = dir_.string() + ".crash";
    fs::remove_all(image);
    if (keep_disk) fs::copy(dir_, image, fs::copy_options::recursive);
    tear_down();  // closing writes a final snapshot, which a kill -9 does not: hence the image
    fs::remove_all(dir_);
    if (keep_disk) fs::rename(image, dir_);
  }

  // The store's pass for what changed without a request (eviction, replication, anti-entropy).
  void flush() {
    if (data_) data_->flush();
  }
  // The syncup answered: restored instances that no peer holds are dropped (Node::start).
  size_t synced(const std::unordered_set<std::string>& peer_keys) {
    if (restored_ == 0) return 0;
    restored_ = 0;
    return data_->drop_unconfirmed(peer_keys);
  }

  Answer call(std::string_view method, std::string_view target, std::string_view body) const {
    http::Request r;
    r.method = method;
    const size_t q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    r.body = body;
    if (!body.empty()) r.content_type = "application/x-www-form-urlencoded";
    r.remote = "10.9.9.9";
    r.header_fn = [](const void*, std::string_view) { return std::string_view(); };
    http::Outcome outcome = router_->dispatch(r);
    if (!outcome.response) return {500, "a parked request", std::nullopt};
    Answer a{outcome.response->status, std::string(outcome.response->payload()), std::nullopt};
    for (const auto& h : outcome.response->headers)
      if (h.name == "X-Muster-Clock") a.clock = cluster::sender_clock_of(h.value, {});
    return a;
  }

  // (zone, hostname) -> the version and status of what this node holds of the simulated app.
  Held holds() const {
    Held out;
    registry_->read_app(kEnv, kApp, [&](const registry::App& app) {
      for (const auto& [zone, z] : app.zones)
        for (const auto& [host, inst] : z.instances)
          out[{zone, host}] = {inst.dirty_timestamp, inst.status};
    });
    return out;
  }

  int index() const { return index_; }
  const std::string addr() const { return kNodes[index_].addr; }
  FakeClock& clock() { return clock_; }
  registry::Registry& registry() { return *registry_; }
  cluster::Writes& writes() { return *writes_; }
  cluster::Replicator& replicator() { return *replicator_; }
  cluster::AntiEntropy& anti_entropy() { return *anti_entropy_; }
  std::vector<std::string>& resyncs() { return resyncs_; }

  bool up = true;
  bool syncing = false;  // restarted, no peer has answered its syncup yet
  int64_t next_tick = 0, next_anti_entropy = 0;

 private:
  // Destroys in the reverse order of building.
  void tear_down() {
    apis_.clear();
    router_.reset();
    init_protect_.reset();
    write_limit_.reset();
    access_.reset();
    anti_entropy_.reset();
    replicator_.reset();
    writes_.reset();
    data_.reset();
    registry_.reset();
  }

  int index_;
  FakeClock clock_;
  uint64_t seed_;
  fs::path dir_;
  bool guard_;
  size_t restored_ = 0;  // instances restored at the last build, until synced()
  api::NodeIdentity identity_;
  std::unique_ptr<registry::Registry> registry_;
  std::unique_ptr<store::DataDir> data_;
  std::unique_ptr<cluster::Writes> writes_;
  std::unique_ptr<cluster::Replicator> replicator_;
  std::unique_ptr<cluster::AntiEntropy> anti_entropy_;
  std::unique_ptr<api::Access> access_;
  std::unique_ptr<api::WriteLimit> write_limit_;
  std::unique_ptr<api::InitProtect> init_protect_;
  std::vector<std::unique_ptr<api::Api>> apis_;
  std::unique_ptr<http::Router> router_;
  std::vector<std::string> resyncs_;
};

// What a client believes of its instance: the model the invariants compare the nodes with.
struct Client {
  // kLost: a deregistration acknowledged only by a node that died without its data directory
  // before passing it on: the cluster cannot know of it (docs/architecture.md, data dir), so the
  // model no longer says where the instance must be.
  enum class State { kRenewing, kStopped, kCancelled, kLost };
  std::string hostname;
  std::string zone;
  bool consul = false;  // a Consul registration: no lease, goes only when deregistered
  State state = State::kRenewing;
  int home = 0;
  int64_t next_renew = 0;
  int64_t last_ack = 0;  // of its last register or renew: where its lease starts
  int64_t registered_at = 0;
  int64_t gone_by = 0;  // stopped or cancelled: absent from every node from then on
  int64_t cancelled_at = 0;
  int64_t last_write = 0;  // register, set or cancel: until it has travelled, nodes may differ
  // A Consul registration's newest version this client saw acknowledged (its register or a check
  // turning critical or passing again), and the status that version gives: the one every node
  // shows once settled (the highest dirty_timestamp wins, §6.4).
  Version newest;
  bool checks_known = true;  // false once that version died with a node (forget_what_only)
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& options)
      : options_(options),
        rng_(options.seed),
        root_(fs::temp_directory_path() /
              ("muster-sim-" + std::to_string(::getpid()) + "-" + std::to_string(options.seed))) {
    fs::remove_all(root_);
    const int64_t wall = 1'700'000'000'000'000'000;
    guard_ = options.guard;
    evict_interval_ = guard_ ? kGuardedEvictInterval : kEvictInterval;
    gone_bound_ = gone_bound(evict_interval_);
    for (int i = 0; i < kNodeCount; ++i) {
      const int64_t skew = options.start_skew.count();
      const int64_t offset = skew > 0 ? between(0, skew) : 0;
      nodes_.push_back(std::make_unique<SimNode>(i, options.seed, wall + offset, kSecond,
                                                 root_ / ("node-" + std::to_string(i)), guard_));
      SimNode& n = *nodes_.back();
      n.build(fetch_for(i));
      n.next_tick = evict_interval_ * (i + 1) / (kNodeCount + 1);  // out of step
      n.next_anti_entropy = kAntiEntropy * (i + 1) / (kNodeCount + 1);
    }
  }

  ~Simulation() {
    nodes_.clear();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  SimResult run() {
    const int64_t end = options_.duration.count();
    for (now_ = 0; now_ < end && result_.ok; now_ += kStep) {
      for (auto& n : nodes_)
        n->clock().advance(std::chrono::nanoseconds(kStep));
      faults();
      clients();
      network();
      timers();
      for (auto& n : nodes_)
        if (n->up) n->flush();  // the store's pass
      check_gone();
      if (quiet_since_ >= 0 && now_ - quiet_since_ >= kSettle &&
          now_ - last_quiet_check_ >= kSecond)
        check_quiet();
    }
    return std::move(result_);
  }

 private:
  // ---- the schedule ----
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  int64_t between(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  void note(const std::string& what) {
    char t[32];
    std::snprintf(t, sizeof t, "%8.1fs ", static_cast<double>(now_) / 1e9);
    result_.schedule.push_back(t + what);
    if (options_.verbose) std::printf("%s\n", result_.schedule.back().c_str());
  }
  void fail(const std::string& why) {
    if (!result_.ok) return;
    result_.ok = false;
    char t[32];
    std::snprintf(t, sizeof t, "at %.1fs: ", static_cast<double>(now_) / 1e9);
    result_.failure = t + why;
  }

  // ---- the network ----
  bool reachable(int from, int to) const {
    if (!nodes_[from]->up || !nodes_[to]->up) return false;
    return from == to || (isolated_ != from && isolated_ != to);
  }
  int index_of(const std::string& addr) const {
    for (int i = 0; i < kNodeCount; ++i)
      if (addr == kNodes[i].addr) return i;
    return -1;
  }

  cluster::AntiEntropy::Fetch fetch_for(int from) {
    return
        [this, from](std::string addr, std::string target) -> asio::awaitable<cluster::GetResult> {
          const int to = index_of(addr);
          if (to < 0 || !reachable(from, to))
            co_return cluster::GetResult{std::nullopt, "unreachable", std::nullopt};
          ++result_.messages;
          Answer a = nodes_[to]->call("GET", target, {});
          if (a.status != 200)
            co_return cluster::GetResult{std::nullopt, "HTTP " + std::to_string(a.status),
                                         std::nullopt};
          co_return cluster::GetResult{
              std::move(a.body), {}, options_.fresh_leases ? std::nullopt : a.clock};
        };
  }

  // A form as the wire carries it; with fresh_leases, without the lease it carries.
  std::string on_the_wire(std::string form) const {
    if (!options_.fresh_leases) return form;
    const size_t at = form.find("&renew_age=");
    if (at == std::string::npos) return form;
    const size_t end = form.find('&', at + 1);
    return form.erase(at, end == std::string::npos ? std::string::npos : end - at);
  }

  void network() {
    // Messages are lost, duplicated and reordered in the fault windows only: a quiet point means
    // no fault of any kind for kSettle.
    const bool faulty = fault_window();
    for (auto& from : nodes_) {
      if (!from->up) continue;
      for (cluster::PeerLink* link : from->replicator().current_links()) {
        if (link->queue_depth() == 0 || chance(0.3)) continue;  // delayed this step
        const int to = index_of(link->addr());
        std::vector<cluster::PeerItem> batch = link->take();
        if (to < 0 || !reachable(from->index(), to)) {
          link->failed_batch(batch.size());
          continue;
        }
        if (faulty && batch.size() > 1 && chance(0.05)) {
          std::shuffle(batch.begin(), batch.end(), rng_);
          note(from->addr() + " -> " + link->addr() + ": batch reordered");
        }
        size_t cut = batch.size();
        if (faulty && chance(0.03)) {
          cut = static_cast<size_t>(pick(static_cast<int>(batch.size())));
          note(from->addr() + " -> " + link->addr() + ": connection broken after " +
               std::to_string(cut) + " of " + std::to_string(batch.size()));
        }
        for (size_t i = 0; i < cut; ++i) {
          const cluster::PeerItem& item = batch[i];
          const std::string form = on_the_wire(link->form_of(item));
          const int copies = faulty && chance(0.03) ? 2 : 1;  // a duplicate
          for (int c = 0; c < copies; ++c) {
            ++result_.messages;
            const Answer a = nodes_[to]->call("POST", cluster::route_of(item.kind), form);
            link->answered(item, a.body);
          }
        }
        if (cut < batch.size()) link->failed_batch(batch.size() - cut);
      }
    }
  }

  // ---- eviction, anti-entropy, syncup ----
  void timers() {
    for (auto& n : nodes_) {
      if (!n->up) continue;
      if (n->syncing) syncup(*n);
      if (now_ >= n->next_tick) {
        const registry::EvictionReport report = n->registry().tick();
        n->next_tick += evict_interval_;
        // The guard's run either protects (nothing lapsed goes) or caps eviction at 15 % of the
        // instances (decisions.md §5.2): either way some lapsed instances stay for now.
        if (report.protecting || report.expired > report.evicted) {
          if (now_ - protected_at_[n->index()] > evict_interval_)
            note(n->addr() + (report.protecting ? " protects (too few renews)"
                                                : " evicts at most 15 % in a run"));
          protected_at_[n->index()] = now_;
          ++result_.protecting_runs;
        }
      }
      std::vector<std::string> peers;
      if (now_ >= n->next_anti_entropy) {
        peers = n->replicator().peer_addrs();
        n->next_anti_entropy += kAntiEntropy;
      }
      // Peers that answer again after writes to them were lost get a round at once (on_back).
      peers.insert(peers.end(), n->resyncs().begin(), n->resyncs().end());
      n->resyncs().clear();
      for (const std::string& addr : peers)
        run_now(n->anti_entropy().compare_with(addr));
    }
  }

  // The production syncup's work (Replicator::syncup): fetch/all from each peer it reads from,
  // applied with the leases it carries; until one answered.
  // A node restarted from its disk then drops what it restored and no peer that answered holds.
  void syncup(SimNode& n) {
    std::unordered_set<std::string> peer_keys;
    for (const std::string& addr : n.replicator().peer_addrs()) {
      const int to = index_of(addr);
      if (to < 0 || !reachable(n.index(), to)) continue;
      ++result_.messages;
      const Answer a = nodes_[to]->call("GET", "/discovery/fetch/all", {});
      if (a.status != 200) continue;
      const auto clock = options_.fresh_leases ? std::nullopt : a.clock;
      if (!cluster::apply_snapshot(n.registry(), a.body, clock)) continue;
      n.syncing = false;
      store::DataDir::add_instance_keys(a.body, peer_keys);
    }
    if (n.syncing) return;
    const size_t dropped = n.synced(peer_keys);
    note(n.addr() + " synced from its peers" +
         (dropped > 0 ? "; dropped " + std::to_string(dropped) + " restored that no peer holds"
                      : ""));
  }

  // ---- faults ----
  bool fault_window() const { return now_ % kEpoch < kEpoch / 2; }
  // The last third of every epoch: clients only renew, so that the cluster settles and the
  // Consul index is compared (check_consul_index).
  bool calm() const { return now_ % kEpoch >= kEpoch * 2 / 3; }

  void faults() {
    // Heal what is due.
    if (isolated_ >= 0 && now_ >= heal_at_) {
      note("partition healed: " + nodes_[isolated_]->addr() + " reachable again");
      isolated_ = -1;
    }
    for (auto& n : nodes_) {
      if (!n->up && now_ >= restart_at_[n->index()]) {
        const size_t restored = n->build(fetch_for(n->index()));
        n->up = true;
        n->syncing = true;
        n->next_tick = now_ + evict_interval_;
        n->next_anti_entropy = now_ + kAntiEntropy;
        // What it restored may have lapsed or been cancelled meanwhile: it goes at the syncup
        // or at the first eviction run (decisions.md §5.7).
        if (restored > 0) restored_until_[n->index()] = n->next_tick + kStep;
        note(n->addr() + " restarted " +
             (keeps_disk_[n->index()]
                  ? "with its data directory (" + std::to_string(restored) + " instances restored)"
                  : std::string("with an empty data directory")));
      }
    }
    const bool all_well = isolated_ < 0 && std::all_of(nodes_.begin(), nodes_.end(), [](auto& n) {
                            return n->up && !n->syncing;
                          });
    if (!all_well || fault_window()) quiet_since_ = -1;
    if (all_well && !fault_window() && quiet_since_ < 0) quiet_since_ = now_;
    if (!fault_window()) return;
    if (isolated_ < 0 && chance(0.004)) {
      isolated_ = pick(kNodeCount);
      heal_at_ = now_ + between(kSecond, 12 * kSecond);
      note("partition: " + nodes_[isolated_]->addr() + " cut off from its peers");
      ++result_.faults;
      quiet_since_ = -1;
    }
    if (chance(0.002)) {
      SimNode& n = *nodes_[pick(kNodeCount)];
      if (n.up) {
        n.up = false;
        keeps_disk_[n.index()] = chance(0.5);
        forget_what_only(n, keeps_disk_[n.index()]);
        n.kill(keeps_disk_[n.index()]);
        restart_at_[n.index()] = now_ + between(kStep, 8 * kSecond);
        note(n.addr() + " killed" + (keeps_disk_[n.index()] ? "" : ", its disk lost"));
        ++result_.faults;
        quiet_since_ = -1;
      }
    }
    if (options_.max_skew.count() > 0 && chance(0.002)) {
      SimNode& n = *nodes_[pick(kNodeCount)];
      const int64_t step = between(-options_.max_skew.count(), options_.max_skew.count());
      n.clock().step_wall(std::chrono::nanoseconds(step));
      note(n.addr() + " wall clock stepped by " + std::to_string(step / 1'000'000) + " ms");
      ++result_.faults;
    }
  }

  // A node dies: what only it knew dies with it, its disk or not. A Consul client does not
  // register again, as a native one does at its next renew: its registration is lost when no
  // other live node holds it (a node restarted from its disk drops, at its syncup, what it
  // restored and no peer holds: it cannot tell it from what was cancelled while it was down),
  // its deregistration when no other live node remembers it (a cancel mark; marks travel
  // neither in a syncup nor in the data directory, so a node that synced after the cancel lacks
  // the instance without knowing why, and takes it back from a node that missed the cancel).
  // A check's state written only at the dying node survives on its disk, if it keeps it, and is
  // lost with it otherwise: the model no longer knows which state wins.
  void forget_what_only(SimNode& dying, bool keeps_disk) {
    for (Client& c : clients_) {
      if (!c.consul) continue;
      if (!keeps_disk && c.state == Client::State::kRenewing && c.checks_known) {
        bool newest_kept = false;
        for (const auto& n : nodes_) {
          if (n.get() == &dying || !n->up) continue;
          n->registry().read_instance({c.zone, kEnv, kApp, c.hostname}, [&](const auto& inst) {
            newest_kept = newest_kept || inst.dirty_timestamp >= c.newest.dirty;
          });
        }
        if (!newest_kept) {
          c.checks_known = false;
          note("the newest check state of " + c.hostname + " dies with " + dying.addr());
        }
      }
      const bool registered = c.state == Client::State::kRenewing;
      const bool deregistered = c.state == Client::State::kCancelled && c.gone_by < 0;
      if (!registered && !deregistered) continue;
      bool kept = false;
      for (const auto& n : nodes_) {
        if (n.get() == &dying || !n->up) continue;  // a node that is down may drop it too
        const registry::InstanceKey key{c.zone, kEnv, kApp, c.hostname};
        kept = kept || (registered ? n->registry().read_instance(key, [](const auto&) {})
                                   : n->registry().cancelled_at(key).has_value());
      }
      if (kept) continue;
      c.state = Client::State::kLost;
      note(std::string("the ") + (registered ? "registration" : "deregistration") + " of " +
           c.hostname + " dies with " + dying.addr() + ": no other live node keeps it");
    }
  }

  // ---- clients ----
  int live_node(int preferred) {
    if (nodes_[preferred]->up) return preferred;
    for (int i = 0; i < kNodeCount; ++i)
      if (nodes_[i]->up) return i;
    return -1;
  }
  std::string identity(const Client& c) const {
    std::string out;
    wire::append_field(out, "zone", c.zone);
    wire::append_field(out, "env", kEnv);
    wire::append_field(out, "appid", kApp);
    wire::append_field(out, "hostname", c.hostname);
    return out;
  }
  bool client_register(Client& c, int node) {
    std::string form = identity(c);
    wire::append_field(form, "status", 1);
    wire::append_field(form, "addrs", "http://" + c.hostname + ":80");
    ++result_.client_ops;
    c.last_write = now_;
    const Answer a = nodes_[node]->call("POST", "/discovery/register", form);
    return a.body.find("\"code\":0") != std::string::npos;
  }
  // A live node of `zone`, `preferred` if it is one: a Consul client talks to its zone's agents.
  int live_node_in(const std::string& zone, int preferred) {
    if (nodes_[preferred]->up && zone == kNodes[preferred].zone) return preferred;
    for (int i = 0; i < kNodeCount; ++i)
      if (nodes_[i]->up && zone == kNodes[i].zone) return i;
    return -1;
  }
  // A Consul API request of client `c` at `node`; true when answered 200. What the node then
  // holds of the instance becomes the client's newest version if it is newer.
  bool consul_call(Client& c, int node, std::string_view target, std::string_view body = {}) {
    ++result_.client_ops;
    const Answer a =
        nodes_[node]->call("PUT", std::string(target) + "?ns=" + std::string(kEnv), body);
    if (a.status != 200) return false;
    c.last_write = now_;
    nodes_[node]->registry().read_instance({c.zone, kEnv, kApp, c.hostname},
                                           [&](const registry::Instance& inst) {
                                             if (inst.dirty_timestamp > c.newest.dirty)
                                               c.newest = {inst.dirty_timestamp, inst.status};
                                           });
    return true;
  }
  // A Consul service with one TTL check, registered through the Consul API: no lease. The check
  // is not run here; the client turns it critical and passing (check_turns).
  bool consul_register(Client& c, int node) {
    const std::string body = R"({"Name":")" + std::string(kApp) + R"(","ID":")" + c.hostname +
                             R"(","Address":"10.1.0.1","Port":80,)" +
                             R"("Check":{"TTL":"60s","Status":"passing"}})";
    return consul_call(c, node, "/v1/agent/service/register", body);
  }
  // A Consul client's next move: its check fails or passes again, or it deregisters.
  void consul_moves(Client& c) {
    const int node = live_node_in(c.zone, c.home);
    if (node < 0 || calm()) return;
    c.home = node;
    const std::string check = "service:" + c.hostname;
    if (chance(0.004)) {
      const bool fail = c.newest.status == registry::kStatusUp;
      // A node that does not hold it (yet) answers 404, as Consul does.
      if (consul_call(c, node,
                      std::string("/v1/agent/check/") + (fail ? "fail/" : "pass/") + check))
        note(c.hostname + "'s check turns " + (fail ? "critical" : "passing") + " at " +
             nodes_[node]->addr());
    } else if (chance(0.002)) {
      if (!consul_call(c, node, "/v1/agent/service/deregister/" + c.hostname)) return;
      c.state = Client::State::kCancelled;
      c.cancelled_at = now_;
      c.gone_by = -1;  // no lease: gone once a quiet point has passed (check_quiet)
      note("consul deregister " + c.hostname + " at " + nodes_[node]->addr());
    }
  }

  void clients() {
    // New clients replace those that stopped or cancelled, so that a long run keeps busy.
    const auto live = std::count_if(clients_.begin(), clients_.end(), [](const Client& c) {
      return c.state == Client::State::kRenewing;
    });
    if (live < options_.clients && !calm() && chance(0.05)) {
      const int node = live_node(pick(kNodeCount));
      if (node >= 0) {
        Client c;
        c.hostname = "i" + std::to_string(clients_.size());
        c.consul = chance(0.25);
        // A Consul service is registered in the zone of the agent it asked.
        c.zone = c.consul ? kNodes[node].zone : kNodes[pick(kNodeCount)].zone;
        c.home = node;
        c.registered_at = c.last_ack = now_;
        c.next_renew = now_ + kRenewEvery;
        if (c.consul) {
          if (consul_register(c, node)) {
            note("consul register " + c.hostname + " at " + nodes_[node]->addr());
            clients_.push_back(std::move(c));
          }
        } else if (client_register(c, node)) {
          note("register " + c.hostname + " at " + nodes_[node]->addr());
          clients_.push_back(std::move(c));
        }
      }
    }
    for (Client& c : clients_) {
      if (c.state != Client::State::kRenewing) continue;
      if (c.consul) {
        consul_moves(c);
        continue;
      }
      const int node = live_node(c.home);
      if (node < 0) continue;
      c.home = node;
      if (!calm() && chance(0.002)) {
        c.state = Client::State::kStopped;
        c.gone_by = c.last_ack + gone_bound_;
        note(c.hostname + " stops renewing (dies without a cancel)");
        continue;
      }
      if (!calm() && chance(0.002)) {
        ++result_.client_ops;
        nodes_[node]->call("POST", "/discovery/cancel", identity(c));
        c.last_write = now_;
        c.state = Client::State::kCancelled;
        c.gone_by = now_ + gone_bound_;
        note("cancel " + c.hostname + " at " + nodes_[node]->addr());
        continue;
      }
      if (!calm() && chance(0.003)) {
        std::string form = identity(c);
        wire::append_field(form, "status", chance(0.5) ? 1 : 2);
        ++result_.client_ops;
        nodes_[node]->call("POST", "/discovery/set", form);
        c.last_write = now_;
        note("set " + c.hostname + " at " + nodes_[node]->addr());
      }
      if (now_ < c.next_renew) continue;
      c.next_renew = now_ + kRenewEvery + between(-kStep * 3, kStep * 3);
      ++result_.client_ops;
      const Answer a = nodes_[node]->call("POST", "/discovery/renew", identity(c));
      if (a.body.find("\"code\":0") != std::string::npos) {
        c.last_ack = now_;
      } else if (a.body.find("\"code\":-404") != std::string::npos) {
        // libmuster's registrar: an unknown instance registers again.
        if (client_register(c, node)) c.last_ack = now_;
      }
    }
  }

  // ---- invariants ----
  // A node that protects evicts nothing lapsed, and takes its peers' lapsed copies (so it loses
  // nothing they keep); one whose run was capped left some lapsed instances for later runs. It
  // may hold what stopped renewing until a run after it neither protects nor is capped. A node
  // that does not protect refuses lapsed copies, so no protecting peer can give back to it what
  // it evicted: the invariants still hold there.
  bool lets_lapsed_stay(int node) const {
    return now_ - protected_at_[node] <= evict_interval_ + kAntiEntropy + kSecond;
  }
  bool any_protected() const {
    for (int i = 0; i < kNodeCount; ++i)
      if (lets_lapsed_stay(i)) return true;
    return false;
  }

  // A stopped or cancelled instance is absent from every node once its bound passed, and never
  // comes back.
  void check_gone() {
    for (const Client& c : clients_) {
      if (c.state == Client::State::kRenewing || c.state == Client::State::kLost || c.gone_by < 0 ||
          now_ < c.gone_by)
        continue;
      for (const auto& n : nodes_) {
        if (!n->up || now_ < restored_until_[n->index()] || lets_lapsed_stay(n->index())) continue;
        const bool held = n->registry().read_instance({c.zone, kEnv, kApp, c.hostname},
                                                      [](const registry::Instance&) {});
        if (held) {
          fail(c.hostname + " is held by " + n->addr() + " after its bound: " +
               (c.state == Client::State::kStopped ? "it stopped renewing" : "it was cancelled") +
               " and its last renew was acknowledged at " +
               std::to_string(static_cast<double>(c.last_ack) / 1e9) + "s");
          return;
        }
      }
    }
  }

  static std::string holders(const std::pair<std::string, std::string>& key,
                             const std::vector<Held>& held) {
    std::string out;
    for (int i = 0; i < kNodeCount; ++i)
      if (held[i].contains(key)) out += std::string(out.empty() ? "" : ", ") + kNodes[i].addr;
    return out.empty() ? "none" : out;
  }

  // At a quiet point: the nodes agree, every renewing instance and every live Consul
  // registration is on all of them, and a deregistered Consul service is on none.
  void check_quiet() {
    last_quiet_check_ = now_;
    ++result_.quiet_checks;
    std::vector<Held> held;
    for (const auto& n : nodes_)
      held.push_back(n->holds());
    std::set<std::pair<std::string, std::string>> in_flux;  // lapsing: allowed to differ
    for (Client& c : clients_) {
      const std::pair<std::string, std::string> key{c.zone, c.hostname};
      // A write travels by replication within a step or two, else by the next anti-entropy
      // rounds: until then the nodes may differ on it.
      if (now_ - c.last_write < 2 * kAntiEntropy + kSecond) in_flux.insert(key);
      if (c.state == Client::State::kRenewing) {
        if (c.registered_at >= quiet_since_) continue;  // registered since the quiet began
        for (int i = 0; i < kNodeCount; ++i) {
          const auto it = held[i].find(key);
          if (it == held[i].end()) {
            fail(c.hostname + " renews (last acknowledged at " +
                 std::to_string(static_cast<double>(c.last_ack) / 1e9) + "s at " +
                 nodes_[c.home]->addr() + ") but " + nodes_[i]->addr() +
                 " does not hold it at a quiet point; held by " + holders(key, held));
            return;
          }
          // A Consul check's newest state shows on every node: critical is down (status 2).
          if (!c.consul || !c.checks_known || in_flux.contains(key)) continue;
          if (it->second.status != c.newest.status) {
            fail("the newest check state of " + c.hostname + " (status " +
                 std::to_string(c.newest.status) + ", dirty " + std::to_string(c.newest.dirty) +
                 ") does not show at " + nodes_[i]->addr() + ": status " +
                 std::to_string(it->second.status) + ", dirty " + std::to_string(it->second.dirty));
            return;
          }
        }
        if (c.consul && c.checks_known && !in_flux.contains(key) &&
            c.newest.status == registry::kStatusDown)
          ++result_.critical_checks;
      } else if (c.state == Client::State::kLost) {
        continue;
      } else if (c.gone_by < 0) {
        // A deregistered Consul service (no lease): gone once a quiet point settled after it.
        if (c.cancelled_at < quiet_since_) c.gone_by = now_;
      } else if (now_ < c.gone_by || any_protected()) {
        // Lapsing, or kept by a node that protects (a cancel that died with its node leaves the
        // instance to lapse like one that stopped renewing).
        in_flux.insert(key);
      }
    }
    if (!agree_on_instances(held, in_flux)) return;
    check_consul_index(held, in_flux);
  }

  bool agree_on_instances(const std::vector<Held>& held,
                          const std::set<std::pair<std::string, std::string>>& in_flux) {
    for (int i = 1; i < kNodeCount; ++i) {
      std::set<std::pair<std::string, std::string>> keys;
      for (const auto* m : {&held[0], &held[i]})
        for (const auto& [k, v] : *m)
          if (!in_flux.contains(k)) keys.insert(k);
      for (const auto& k : keys) {
        const auto a = held[0].find(k);
        const auto b = held[i].find(k);
        if (a == held[0].end() || b == held[i].end() || a->second != b->second) {
          const auto said = [&](const Held& h, Held::const_iterator it) {
            return it == h.end() ? std::string("absent")
                                 : "dirty " + std::to_string(it->second.dirty) + " status " +
                                       std::to_string(it->second.status);
          };
          fail("at a quiet point " + nodes_[0]->addr() + " and " + nodes_[i]->addr() +
               " disagree on " + k.second + " (zone " + k.first + "): " + said(held[0], a) +
               " vs " + said(held[i], b));
          return false;
        }
      }
    }
    return true;
  }

  // Consul's index (App::index) once everything settled: the nodes hold the same instances, and
  // no write or eviction happened for two anti-entropy rounds. Then every node gives the app the
  // same index, and it is not below the index agreed at an earlier such point: a client that
  // alternates nodes never sees it go back.
  void check_consul_index(const std::vector<Held>& held,
                          const std::set<std::pair<std::string, std::string>>& in_flux) {
    if (!in_flux.empty() || held[0].empty()) return;
    for (const Client& c : clients_) {
      const int64_t last = c.state == Client::State::kStopped ||
                                   (c.state == Client::State::kCancelled && c.gone_by >= 0)
                               ? std::max(c.last_write, c.gone_by)
                               : c.last_write;
      if (now_ - last < 2 * kAntiEntropy + kSecond) return;
    }
    for (int i = 1; i < kNodeCount; ++i)
      if (held[i] != held[0]) return;  // (an instance kept by a lost deregistration, say)
    std::vector<uint64_t> index;
    for (const auto& n : nodes_)
      index.push_back(n->registry().app_index(kEnv, kApp));
    for (int i = 1; i < kNodeCount; ++i) {
      if (index[i] != index[0]) {
        fail("at a settled quiet point " + nodes_[0]->addr() + " and " + nodes_[i]->addr() +
             " hold the same instances but give Consul indexes " + std::to_string(index[0]) +
             " and " + std::to_string(index[i]));
        return;
      }
    }
    if (index[0] < agreed_index_) {
      fail("the Consul index went back from " + std::to_string(agreed_index_) + " to " +
           std::to_string(index[0]) + " on every node");
      return;
    }
    if (index[0] != agreed_index_) ++result_.index_checks;
    agreed_index_ = index[0];
  }

  SimOptions options_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<SimNode>> nodes_;
  std::vector<Client> clients_;
  int64_t now_ = 0;
  int isolated_ = -1;  // the node cut off from its peers, if any
  int64_t heal_at_ = 0;
  int64_t restart_at_[kNodeCount] = {};
  bool keeps_disk_[kNodeCount] = {};         // the last kill of each node left its disk
  int64_t restored_until_[kNodeCount] = {};  // its restored copies may linger until then
  bool guard_ = false;
  int64_t evict_interval_ = kEvictInterval;
  int64_t gone_bound_ = gone_bound(kEvictInterval);
  // When each node's last eviction run found it protecting (decisions.md §5.2).
  int64_t protected_at_[kNodeCount] = {-1'000'000'000'000, -1'000'000'000'000, -1'000'000'000'000};
  fs::path root_;  // the nodes' data directories
  int64_t quiet_since_ = -1;
  int64_t last_quiet_check_ = 0;
  uint64_t agreed_index_ = 0;  // the Consul index the nodes last agreed on
  SimResult result_;
};

}  // namespace

SimResult run_simulation(const SimOptions& options) {
  spdlog::set_level(options.verbose ? spdlog::level::debug : spdlog::level::off);
  spdlog::set_pattern("           node: %v");  // in order with the schedule's lines
  Simulation sim(options);
  return sim.run();
}

}  // namespace muster::sim
