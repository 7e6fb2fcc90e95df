#pragma once
// A registry on a fake clock, with helpers that say what a test means.
#include <gtest/gtest.h>

#include "registry/registry.h"

namespace muster::registry::testing {

using namespace std::chrono_literals;

// Options without the self-protection guard (nor its cap on evictions per run).
inline Options without_guard() {
  Options o;
  o.self_protection = false;
  return o;
}

class RegistryTest : public ::testing::Test {
 protected:
  explicit RegistryTest(Options options = {}) : registry_(clock_, with_seed(options)) {}

  static Options with_seed(Options o) {
    o.random_seed = 42;
    return o;
  }
  static RegisterArgs args(std::string hostname, std::string appid = "provider",
                           std::string zone = "sh001", int status = kStatusUp) {
    RegisterArgs a;
    a.region = "sh";
    a.zone = std::move(zone);
    a.env = "dev";
    a.appid = std::move(appid);
    a.hostname = std::move(hostname);
    a.addrs = {"http://10.0.0.1:8000"};
    a.version = "1";
    a.status = status;
    return a;
  }
  static InstanceKey key(std::string_view hostname, std::string_view appid = "provider",
                         std::string_view zone = "sh001") {
    return {zone, "dev", appid, hostname};
  }
  // A copy of an instance, or nullopt.
  std::optional<Instance> find(std::string_view hostname, std::string_view appid = "provider",
                               std::string_view zone = "sh001") {
    std::optional<Instance> out;
    registry_.read_app("dev", appid, [&](const App& app) {
      const auto z = app.zones.find(zone);
      if (z == app.zones.end()) return;
      const auto i = z->second.instances.find(hostname);
      if (i != z->second.instances.end()) out = i->second;
    });
    return out;
  }
  int64_t latest(std::string_view appid = "provider") {
    int64_t v = -1;
    registry_.read_app("dev", appid, [&](const App& app) { v = app.latest_timestamp; });
    return v;
  }
  RenewOutcome renew(std::string_view hostname, std::optional<int64_t> dirty = std::nullopt) {
    return registry_.renew(key(hostname), dirty, [](RenewOutcome, const Instance&) {});
  }
  std::vector<std::string> metadata_of(const Instance& inst) {
    std::vector<std::string> out;
    for (auto s : inst.metadata)
      out.emplace_back(s);
    return out;
  }

  FakeClock clock_;
  Registry registry_;
};

}  // namespace muster::registry::testing
