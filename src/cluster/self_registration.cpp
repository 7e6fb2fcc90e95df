#include "cluster/self_registration.h"

#include <spdlog/spdlog.h>

namespace muster::cluster {

namespace asio = boost::asio;

SelfRegistration::SelfRegistration(registry::Registry& registry, Writes& writes,
                                   Replicator& replicator, SelfIdentity self,
                                   std::chrono::nanoseconds renew_interval)
    : registry_(registry),
      writes_(writes),
      replicator_(replicator),
      self_(std::move(self)),
      renew_interval_(renew_interval),
      renew_timer_(replicator.context()) {
  watch_.query.env = self_.env;
  watch_.query.appids = {std::string(kSelfAppid)};
  watch_.query.latest = {0};
  watch_.waiter = this;
}

SelfRegistration::~SelfRegistration() {
  registry_.unpark(watch_);
}

void SelfRegistration::start() {
  asio::post(replicator_.context(), [this] {
    // The peers the syncup brought are known first, so that the registration reaches them all.
    watch();
    register_self();
    schedule_renew();
  });
}

void SelfRegistration::register_self() {
  std::lock_guard lock(mu_);  // never after cancel(), even when they race
  if (cancelled_) return;
  registry::RegisterArgs a;
  a.region = self_.region;
  a.zone = self_.zone;
  a.env = self_.env;
  a.appid = kSelfAppid;
  a.hostname = self_.hostname;
  a.addrs = {self_.scheme + "://" + self_.advertise_addr};
  a.status = registry::kStatusUp;
  writes_.register_instance(std::move(a), Origin::kClient);
  spdlog::info("registered this node as {} {}", kSelfAppid, self_.hostname);
}

void SelfRegistration::schedule_renew() {
  renew_timer_.expires_after(renew_interval_);
  renew_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || cancelled_) return;
    const registry::InstanceKey key{self_.zone, self_.env, kSelfAppid, self_.hostname};
    const auto outcome = writes_.renew(key, Origin::kClient, 0, std::nullopt,
                                       [](registry::RenewOutcome, const registry::Instance&) {});
    if (outcome == registry::RenewOutcome::kNotFound) register_self();  // evicted or cancelled
    schedule_renew();
  });
}

void SelfRegistration::cancel() {
  std::lock_guard lock(mu_);
  if (cancelled_.exchange(true)) return;
  const registry::InstanceKey key{self_.zone, self_.env, kSelfAppid, self_.hostname};
  writes_.cancel(key, Origin::kClient);
}

int64_t SelfRegistration::refresh() {
  std::vector<std::string> nodes;
  ZoneNodes zones;
  int64_t latest = 0;
  registry_.read_app(self_.env, kSelfAppid, [&](const registry::App& app) {
    latest = app.latest_timestamp;
    for (const auto& [name, zone] : app.zones) {
      std::vector<std::string> addrs;
      for (const auto& [host, inst] : zone.instances) {
        for (std::string_view a : inst.addrs) {
          if (a.starts_with("http://")) addrs.emplace_back(a.substr(7));
          if (a.starts_with("https://")) addrs.emplace_back(a.substr(8));
        }
      }
      if (name == self_.zone)
        nodes = std::move(addrs);
      else if (!addrs.empty())
        zones.emplace_back(name, std::move(addrs));
    }
  });
  // An app that vanished keeps the last peer set (docs/decisions.md §6.7): nothing is handed over.
  if (latest > 0) replicator_.discovered(std::move(nodes), std::move(zones));
  return latest;
}

void SelfRegistration::watch() {
  // Each answer at once means a change since the last look: look again, a bounded number of
  // times, then park until the next change.
  for (int i = 0; i < 100; ++i) {
    watch_.query.latest = {refresh()};
    if (!registry_.poll(watch_, *this)) return;  // parked
  }
}

void SelfRegistration::wake(registry::PollAnswer) {
  asio::post(replicator_.context(), [this] { watch(); });
}

}  // namespace muster::cluster
