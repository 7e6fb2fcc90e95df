#include "checks/check_runner.h"

#include <spdlog/spdlog.h>
#include <algorithm>

#include "checks/probe.h"
#include "common/stable_hash.h"

namespace muster::checks {

namespace {

// A probe's output alone (same status) is written at most this often, as Consul's
// check_update_interval: a body that changes at every probe must not be a write at every probe.
constexpr int64_t kOutputEveryMs = 5 * 60 * 1000;
constexpr std::chrono::nanoseconds kMinInterval = std::chrono::seconds(1);
constexpr std::chrono::nanoseconds kDefaultTimeout = std::chrono::seconds(10);
constexpr std::chrono::nanoseconds kMaxTimeout = std::chrono::minutes(5);
// A probe that waited this many intervals for the budget is written critical.
constexpr int64_t kStarvedIntervals = 3;
// How often every check's owner is worked out, for the count of checks this node runs.
constexpr std::chrono::nanoseconds kCensusEvery = std::chrono::seconds(4);

// A node's weight for a check: neighbouring addresses get unrelated weights.
uint64_t weight(std::string_view node, std::string_view key) {
  return mix64(fnv1a(fnv1a(fnv1a(kFnvOffset, node), std::string_view("\0", 1)), key));
}

using Work = CheckIndex::Entry;

}  // namespace

std::string owner_of(const std::vector<std::string>& nodes, std::string_view key) {
  std::string best;
  uint64_t best_weight = 0;
  for (const auto& n : nodes) {
    const uint64_t w = weight(n, key);
    if (best.empty() || w > best_weight || (w == best_weight && n < best)) {
      best = n;
      best_weight = w;
    }
  }
  return best;
}

CheckRunner::CheckRunner(registry::Registry& registry, const CheckIndex& index, CheckWrites& writes,
                         const Clock& clock, const cluster::Replicator* peers,
                         RunnerOptions options)
    : registry_(registry),
      index_(index),
      writes_(writes),
      clock_(clock),
      peers_(peers),
      options_(std::move(options)) {}

CheckRunner::~CheckRunner() {
  stop();
}

void CheckRunner::start() {
  if (thread_.joinable()) return;
  schedule();
  thread_ = std::thread([this] { ioc_.run(); });
}

void CheckRunner::stop() {
  if (!thread_.joinable()) return;
  ioc_.stop();
  thread_.join();
}

void CheckRunner::schedule() {
  timer_.expires_after(options_.tick);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    scan();
    schedule();
  });
}

std::vector<std::string> CheckRunner::live_nodes() const {
  if (peers_ == nullptr) return {options_.self};
  std::vector<std::string> out;
  for (const auto& n : peers_->same_zone_nodes())
    if (n.status == cluster::PeerStatus::kUp) out.push_back(n.addr);
  return out;
}

void CheckRunner::scan() {
  // Parsed once per change by the index, not at every tick (issue 27.9).
  const auto listed = index_.with_checks();
  const auto& work = *listed;
  const std::vector<std::string> live = live_nodes();
  const int64_t now_ms = clock_.wall_ns() / 1'000'000;
  const int64_t reap_floor_ms = options_.reap_floor.count() / 1'000'000;
  // Whose each check is (a hash per node) is worked out for every check only at a census, every
  // few seconds, for muster_consul_checks_owned; in between, a TTL check that is neither lapsing
  // nor to be reaped costs two comparisons and no hash (issue 27.9: 100,000 TTL checks took half
  // a core when each tick parsed and hashed them all).
  const int64_t tick_mono = clock_.mono_ns();
  const bool census = tick_mono >= next_census_mono_;
  if (census) next_census_mono_ = tick_mono + kCensusEvery.count();
  size_t owned = 0;
  for (auto& [key, slot] : slots_)
    slot.seen = false;
  struct Due {
    int64_t due_mono;
    int64_t interval;
    const Work* work;
    const Check* check;
    Slot* slot;  // unordered_map nodes stay put while others are added
    std::string key;
  };
  std::vector<Due> due;
  for (const auto& entry : work) {
    const Work& w = *entry;
    const auto ttl_checks = std::count_if(w.checks.begin(), w.checks.end(),
                                          [](const Check& c) { return c.type == Type::kTtl; });
    for (size_t i = 0; i < w.checks.size(); ++i) {
      const Check& c = w.checks[i];
      const int64_t reap_after_ms = c.deregister_after.count() / 1'000'000;
      const bool reap = c.status == Status::kCritical && reap_after_ms > 0 &&
                        now_ms - c.since_ms >= std::max(reap_after_ms, reap_floor_ms);
      const int64_t ttl_ms = c.ttl.count() / 1'000'000;
      const bool quiet_ttl = c.type == Type::kTtl && !reap &&
                             (c.status == Status::kCritical ||
                              now_ms <= std::max(c.reset_ms, w.renewed_ms[i]) + ttl_ms);
      if (quiet_ttl && !census) continue;
      const std::string& key = w.owner_keys[i];
      if (owner_of(live, key) != options_.self) continue;
      ++owned;
      if (quiet_ttl) continue;
      if (reap) {
        spdlog::info("check {}: critical for over {} ms, deregistering {}/{}", c.id,
                     std::max(reap_after_ms, reap_floor_ms), w.id.appid, w.id.hostname);
        writes_.deregister(w.id);
        break;
      }
      if (c.type == Type::kTtl) {
        // The instance's renew time is its one TTL check's last unchanged pass (CheckWrites),
        // read only for a check that would lapse otherwise.
        int64_t renew_ms = 0;
        if (ttl_checks == 1) {
          registry_.read_instance(w.id.view(), [&](const registry::Instance& inst) {
            renew_ms = inst.renew_timestamp / 1'000'000;
          });
        }
        // Renewed since: quiet until that renew's TTL runs out.
        w.renewed_ms[i] = renew_ms;
        if (now_ms > std::max(c.reset_ms, renew_ms) + ttl_ms) {
          std::string output = "TTL expired";
          if (!c.output.empty()) output += " (last output before timeout follows): " + c.output;
          writes_.update(w.id, c.id, Status::kCritical, output, false);
        }
        continue;
      }
      auto [slot, fresh] = slots_.try_emplace(key);
      slot->second.seen = true;
      const int64_t now_mono = clock_.mono_ns();
      const int64_t interval = std::max(c.interval, kMinInterval).count();
      if (fresh) {
        slot->second.due_mono =
            now_mono + std::uniform_int_distribution<int64_t>(0, interval - 1)(random_);
      }
      if (slot->second.in_flight || now_mono < slot->second.due_mono) continue;
      due.push_back(Due{slot->second.due_mono, interval, &w, &c, &slot->second, key});
    }
  }
  // The longest waiting first, as many as the budget allows; the others wait, still due.
  std::sort(due.begin(), due.end(),
            [](const Due& a, const Due& b) { return a.due_mono < b.due_mono; });
  const int64_t now_mono = clock_.mono_ns();
  for (Due& d : due) {
    if (in_flight_.load() >= options_.max_in_flight) {
      ++deferred_;
      if (!d.slot->starved && now_mono - d.due_mono > kStarvedIntervals * d.interval) {
        d.slot->starved = true;
        writes_.update(d.work->id, d.check->id, Status::kCritical,
                       "check not run: " + std::to_string(options_.max_in_flight) +
                           " probes already in flight on this node (its budget, "
                           "docs/security.md); it runs as soon as one comes back",
                       false);
      }
      continue;
    }
    d.slot->in_flight = true;
    d.slot->starved = false;
    d.slot->due_mono = now_mono + d.interval;
    run_probe(d.work->id, *d.check, d.key, now_ms);
  }
  std::erase_if(slots_, [](const auto& kv) { return !kv.second.seen && !kv.second.in_flight; });
  if (census) owned_ = owned;
}

void CheckRunner::run_probe(const cluster::InstanceId& id, const Check& check,
                            const std::string& key, int64_t started_ms) {
  ++probes_;
  ++in_flight_;
  // Never longer than the interval (a probe still out is not started again) nor 5 minutes.
  const auto timeout = std::min({check.timeout.count() > 0 ? check.timeout : kDefaultTimeout,
                                 std::max(check.interval, kMinInterval), kMaxTimeout});
  boost::asio::co_spawn(
      ioc_, probe(ioc_, check, timeout, options_.allowed),
      [this, id, key, status = check.status, output = check.output, written = check.reset_ms,
       check_id = check.id, started_ms](std::exception_ptr failed, ProbeResult result) {
        --in_flight_;
        if (const auto s = slots_.find(key); s != slots_.end()) s->second.in_flight = false;
        if (failed) return;
        // The first output of a check is written at once, later changes of it alone lazily.
        const bool output_only = result.status == status && clean_output(result.output) != output;
        if (output_only && !output.empty() && started_ms - written < kOutputEveryMs) return;
        writes_.update(id, check_id, result.status, result.output, false);
      });
}

}  // namespace muster::checks
