#include "cluster/anti_entropy.h"

#include <spdlog/spdlog.h>

#include <map>

#include "cluster/http_get.h"
#include "cluster/log_failure.h"
#include "cluster/snapshot.h"
#include "wire/form.h"
#include "wire/instance_json.h"

namespace muster::cluster {

namespace asio = boost::asio;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

AntiEntropy::AntiEntropy(registry::Registry& registry, Replicator& replicator,
                         std::chrono::nanoseconds interval, std::chrono::nanoseconds timeout,
                         Fetch fetch)
    : registry_(registry),
      replicator_(replicator),
      interval_(interval),
      timeout_(timeout),
      fetch_(fetch ? std::move(fetch)
                   : [this](std::string addr, std::string target) -> asio::awaitable<GetResult> {
        // Named, not a temporary in the co_await: GCC 12 frees such temporaries twice.
        const PeerCredentials credentials = replicator_.credentials_for(addr);
        co_return co_await http_get(replicator_.context(), addr, target, timeout_, credentials);
      }) {}

void AntiEntropy::start() {
  asio::co_spawn(replicator_.context(), run(), log_failure("anti-entropy"));
}

asio::awaitable<void> AntiEntropy::run() {
  asio::steady_timer timer(replicator_.context());
  for (;;) {
    timer.expires_after(interval_);
    auto [ec] = co_await timer.async_wait(kNoThrow);
    if (ec) co_return;
    for (const std::string& addr : replicator_.peer_addrs()) {
      // One peer's answer that breaks something costs that comparison, not the loop.
      try {
        co_await compare_with(addr);
      } catch (const std::exception& e) {
        ++failures_;
        spdlog::error("anti-entropy with {} failed: {}", addr, e.what());
      }
    }
    ++rounds_;
  }
}

void AntiEntropy::resync(const std::string& addr) {
  asio::co_spawn(replicator_.context(), compare_with(addr), log_failure("resync with " + addr));
}

asio::awaitable<void> AntiEntropy::compare_with(std::string addr) {
  const std::string digests = "/discovery/digests";  // named: see GCC 12 above
  const auto got = co_await fetch_(addr, digests);
  const auto theirs = got.body ? parse_digests(*got.body) : std::nullopt;
  if (!theirs) {
    ++failures_;
    spdlog::debug("anti-entropy with {}: {}", addr,
                  got.body ? "the digests answer is not readable" : got.error);
    co_return;
  }
  Digests ours;
  for (registry::AppDigest& d : registry_.digests())
    ours[{std::move(d.appid), std::move(d.env)}] = {d.instances, d.digest, d.index};
  // Apps whose count or digest differ, and apps only one side holds.
  std::vector<std::pair<std::string, std::string>> differing;
  for (const auto& [key, summary] : *theirs) {
    const auto it = ours.find(key);
    if (it == ours.end() || it->second.digest != summary.digest ||
        it->second.instances != summary.instances) {
      differing.push_back(key);
    } else if (summary.index > it->second.index) {
      // The same instances, a higher Consul index: the peer applied the same changes in another
      // order, or evicted once more (App::index). Taken only once the contents agree, so that an
      // index never runs ahead of the content it stands for.
      registry_.raise_index(key.second, key.first, summary.index);
      ++indexes_raised_;
    }
  }
  for (const auto& [key, summary] : ours) {
    if (!theirs->contains(key)) differing.push_back(key);
  }
  for (const auto& [appid, env] : differing) {
    ++apps_differing_;
    // The peer's copies: (zone, hostname) -> dirty_timestamp.
    std::map<std::pair<std::string, std::string>, int64_t> at_peer;
    if (theirs->contains({appid, env})) {
      std::string query;
      wire::append_field(query, "appid", appid);
      wire::append_field(query, "env", env);
      wire::append_field(query, "status", 3);
      const std::string target = "/discovery/fetch?" + query;
      const auto app = co_await fetch_(addr, target);
      if (!app.body) {
        ++failures_;
        continue;
      }
      pull(addr, *app.body, app.sender_clock, at_peer);
    }
    push(addr, env, appid, at_peer);
  }
}

void AntiEntropy::pull(const std::string& addr, std::string_view app,
                       std::optional<int64_t> sender_clock,
                       std::map<std::pair<std::string, std::string>, int64_t>& at_peer) {
  // fetch's answer holds the instances by zone; the registry keeps whichever copy is newer.
  const auto envelope = wire::read_envelope(app);
  if (!envelope || !envelope->data.is_object()) return;
  const boost::json::value* zones = envelope->data.get_object().if_contains("instances");
  if (zones == nullptr || !zones->is_object()) return;
  size_t pulled = 0;
  size_t skipped = 0;
  size_t cancels_sent = 0;
  size_t lapsed = 0;
  for (const auto& [zone, list] : zones->get_object()) {
    if (!list.is_array()) continue;
    for (const auto& inst : list.get_array()) {
      auto args = instance_args(inst, sender_clock);
      if (!args) {
        ++skipped;  // one unreadable instance costs only itself
        continue;
      }
      at_peer[{args->zone, args->hostname}] = args->dirty_timestamp;
      // A copy this node cancelled since: the peer missed the cancel. It gets the cancel, rather
      // than this node the copy back.
      const registry::InstanceKey key{args->zone, args->env, args->appid, args->hostname};
      if (const auto cancelled = registry_.cancelled_at(key);
          cancelled && *cancelled >= args->dirty_timestamp) {
        if (replicator_.send_cancel(addr, key, *cancelled)) ++cancels_sent;
        continue;
      }
      bool newer = true;
      registry_.read_instance({args->zone, args->env, args->appid, args->hostname},
                              [&](const registry::Instance& local) {
                                newer = args->dirty_timestamp > local.dirty_timestamp;
                              });
      if (!newer) continue;
      // With the lease it has at the peer: a copy that stopped renewing is not brought back.
      const auto outcome = registry_.register_instance(*args);
      if (outcome == registry::RegisterOutcome::kIgnoredLapsed)
        ++lapsed;
      else if (outcome == registry::RegisterOutcome::kRefusedAhead)
        ++skipped;
      else
        ++pulled;
    }
  }
  if (skipped > 0)
    spdlog::warn(
        "anti-entropy: skipped {} instances from {} (unreadable, or dirty_timestamp more than "
        "1h ahead of this node)",
        skipped, addr);
  if (pulled > 0) {
    spdlog::info("anti-entropy: {} instances pulled from {}", pulled, addr);
    instances_pulled_ += pulled;
  }
  if (lapsed > 0) {
    spdlog::debug("anti-entropy: {} instances of {} not taken: their lease had lapsed", lapsed,
                  addr);
    lapsed_ += lapsed;
  }
  if (cancels_sent > 0) {
    spdlog::info("anti-entropy: {} cancels {} missed sent to it", cancels_sent, addr);
    cancels_sent_ += cancels_sent;
  }
}

void AntiEntropy::push(const std::string& addr, const std::string& env, const std::string& appid,
                       const std::map<std::pair<std::string, std::string>, int64_t>& at_peer) {
  size_t pushed = 0;
  registry_.read_app(env, appid, [&](const registry::App& app) {
    for (const auto& [zone_name, zone] : app.zones) {
      for (const auto& [host, inst] : zone.instances) {
        const auto it = at_peer.find({zone_name, host});
        if (it != at_peer.end() && it->second >= inst.dirty_timestamp) continue;
        if (replicator_.send_register(addr, inst)) ++pushed;
      }
    }
  });
  if (pushed > 0) {
    spdlog::info("anti-entropy: {} instances of {} ({}) sent to {}", pushed, appid, env, addr);
    instances_pushed_ += pushed;
  }
}

void AntiEntropy::write_metrics(metrics::TextWriter& out) const {
  const auto counter = [&](std::string_view name, uint64_t v) {
    out.family(name);
    out.sample(name, static_cast<double>(v));
  };
  counter("muster_anti_entropy_rounds_total", rounds_.load());
  counter("muster_anti_entropy_failures_total", failures_.load());
  counter("muster_anti_entropy_apps_differing_total", apps_differing_.load());
  counter("muster_anti_entropy_instances_pulled_total", instances_pulled_.load());
  counter("muster_anti_entropy_instances_pushed_total", instances_pushed_.load());
  counter("muster_anti_entropy_lapsed_total", lapsed_.load());
  counter("muster_anti_entropy_indexes_raised_total", indexes_raised_.load());
  counter("muster_anti_entropy_cancels_sent_total", cancels_sent_.load());
}

}  // namespace muster::cluster
