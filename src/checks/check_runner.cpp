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

// A node's weight for a check: neighbouring addresses get unrelated weights.
uint64_t weight(std::string_view node, std::string_view key) {
  return mix64(fnv1a(fnv1a(fnv1a(kFnvOffset, node), std::string_view("\0", 1)), key));
}

struct Work {
  cluster::InstanceId id;
  int64_t renew_ms = 0;
  std::vector<Check> checks;
};

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

CheckRunner::CheckRunner(registry::Registry& registry, CheckWrites& writes, const Clock& clock,
                         const cluster::Replicator* peers, RunnerOptions options)
    : registry_(registry),
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
  std::vector<Work> work;
  visit_agent_instances(
      registry_, options_.zone, "",
      [&](const registry::App& app, const std::string& host, const registry::Instance& inst) {
        auto list = checks_of(inst);
        if (!list.empty()) {
          work.push_back(Work{{options_.zone, app.env, app.appid, host},
                              inst.renew_timestamp / 1'000'000,
                              std::move(list)});
        }
        return true;
      });
  const std::vector<std::string> live = live_nodes();
  const int64_t now_ms = clock_.wall_ns() / 1'000'000;
  const int64_t reap_floor_ms = options_.reap_floor.count() / 1'000'000;
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
  for (const Work& w : work) {
    const auto ttl_checks = std::count_if(w.checks.begin(), w.checks.end(),
                                          [](const Check& c) { return c.type == Type::kTtl; });
    for (const Check& c : w.checks) {
      std::string key = w.id.env + '\0' + w.id.appid + '\0' + w.id.hostname + '\0' + c.id;
      if (owner_of(live, key) != options_.self) continue;
      ++owned;
      const int64_t reap_after_ms = c.deregister_after.count() / 1'000'000;
      if (c.status == Status::kCritical && reap_after_ms > 0 &&
          now_ms - c.since_ms >= std::max(reap_after_ms, reap_floor_ms)) {
        spdlog::info("check {}: critical for over {} ms, deregistering {}/{}", c.id,
                     std::max(reap_after_ms, reap_floor_ms), w.id.appid, w.id.hostname);
        writes_.deregister(w.id);
        break;
      }
      if (c.type == Type::kTtl) {
        // The instance's renew time is its one TTL check's last unchanged pass (CheckWrites).
        const int64_t reset = ttl_checks == 1 ? std::max(c.reset_ms, w.renew_ms) : c.reset_ms;
        if (c.status != Status::kCritical && now_ms > reset + c.ttl.count() / 1'000'000) {
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
      due.push_back(Due{slot->second.due_mono, interval, &w, &c, &slot->second, std::move(key)});
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
  owned_ = owned;
}

void CheckRunner::run_probe(const cluster::InstanceId& id, const Check& check,
                            const std::string& key, int64_t started_ms) {
  ++probes_;
  ++in_flight_;
  // Never longer than the interval (a probe still out is not started again) nor 5 minutes.
  const auto timeout = std::min({check.timeout.count() > 0 ? check.timeout : kDefaultTimeout,
                                 std::max(check.interval, kMinInterval), kMaxTimeout});
  boost::asio::co_spawn(
      ioc_, probe(ioc_, check, timeout),
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
