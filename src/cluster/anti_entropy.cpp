#include "cluster/anti_entropy.h"

#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <map>

#include "cluster/http_get.h"
#include "cluster/snapshot.h"

namespace muster::cluster {

namespace asio = boost::asio;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

namespace {

std::string encode(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

}  // namespace

AntiEntropy::AntiEntropy(registry::Registry& registry, Replicator& replicator,
                         std::chrono::nanoseconds interval, std::chrono::nanoseconds timeout)
    : registry_(registry), replicator_(replicator), interval_(interval), timeout_(timeout) {}

void AntiEntropy::start() {
  asio::co_spawn(replicator_.context(), run(), asio::detached);
}

asio::awaitable<void> AntiEntropy::run() {
  asio::steady_timer timer(replicator_.context());
  for (;;) {
    timer.expires_after(interval_);
    auto [ec] = co_await timer.async_wait(kNoThrow);
    if (ec) co_return;
    for (const std::string& addr : replicator_.peer_addrs())
      co_await compare_with(addr);
    ++rounds_;
  }
}

asio::awaitable<void> AntiEntropy::compare_with(const std::string& addr) {
  const auto body = co_await http_get(replicator_.context(), addr, "/discovery/digests", timeout_);
  const auto theirs = body ? parse_digests(*body) : std::nullopt;
  if (!theirs) {
    ++failures_;
    co_return;
  }
  Digests ours;
  for (registry::AppDigest& d : registry_.digests())
    ours[{std::move(d.appid), std::move(d.env)}] = {d.instances, d.digest};
  for (const auto& [key, summary] : *theirs) {
    const auto it = ours.find(key);
    if (it != ours.end() && it->second.digest == summary.digest &&
        it->second.instances == summary.instances)
      continue;
    if (summary.instances == 0) continue;
    ++apps_differing_;
    const std::string target =
        "/discovery/fetch?appid=" + encode(key.first) + "&env=" + encode(key.second) + "&status=3";
    const auto app = co_await http_get(replicator_.context(), addr, target, timeout_);
    if (!app) {
      ++failures_;
      continue;
    }
    // fetch's answer holds the instances by zone; the registry keeps whichever copy is newer.
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(*app, ec);
    if (ec || !v.is_object()) continue;
    const auto* data = v.get_object().if_contains("data");
    const boost::json::value* zones = nullptr;
    if (data != nullptr && data->is_object()) zones = data->get_object().if_contains("instances");
    if (zones == nullptr || !zones->is_object()) continue;
    size_t pulled = 0;
    for (const auto& [zone, list] : zones->get_object()) {
      if (!list.is_array()) continue;
      for (const auto& inst : list.get_array()) {
        auto args = instance_args(inst);
        if (!args) continue;
        bool newer = true;
        registry_.read_instance({args->zone, args->env, args->appid, args->hostname},
                                [&](const registry::Instance& local) {
                                  newer = args->dirty_timestamp > local.dirty_timestamp;
                                });
        if (!newer) continue;
        registry_.register_instance(*args);
        ++pulled;
      }
    }
    if (pulled > 0) {
      spdlog::info("anti-entropy: {} instances of {} ({}) pulled from {}", pulled, key.first,
                   key.second, addr);
      instances_pulled_ += pulled;
    }
  }
}

void AntiEntropy::write_metrics(metrics::TextWriter& out) const {
  const auto counter = [&](std::string_view name, std::string_view help, uint64_t v) {
    out.family(name, "counter", help);
    out.sample(name, static_cast<double>(v));
  };
  counter("muster_anti_entropy_rounds_total", "Rounds of digest comparison with every peer",
          rounds_.load());
  counter("muster_anti_entropy_failures_total", "Digest or app fetches from a peer that failed",
          failures_.load());
  counter("muster_anti_entropy_apps_differing_total", "Apps whose digest differed from a peer's",
          apps_differing_.load());
  counter("muster_anti_entropy_instances_pulled_total",
          "Instances adopted from a peer that held a newer copy or one this node lacked",
          instances_pulled_.load());
}

}  // namespace muster::cluster
