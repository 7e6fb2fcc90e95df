#pragma once
// A registry and its Replicator whose one same-zone peer is a scripted FakePeer, for the
// replicator and anti-entropy tests. The peer answers the start-up syncup with no instances.
// Threading: the replicator runs its own thread; the test drives the registry from its own.
#include <gtest/gtest.h>

#include "cluster/replicator.h"
#include "common/clock.h"
#include "fake_peer.h"
#include "link_harness.h"

namespace muster::cluster::testing {

class ReplicationTest : public ::testing::Test {
 protected:
  ReplicationTest() {
    peer_.answer("/discovery/fetch/all", 0, "{}");
    ClusterOptions o;
    o.self = "127.0.0.1:1";  // never dialled: it is this node
    o.region = "sh";
    o.zone = "sh001";
    o.nodes = {o.self, peer_.addr()};
    replicator_ = std::make_unique<Replicator>(registry_, o);
    replicator_->start([](bool) {});
  }
  ~ReplicationTest() override { replicator_->stop(std::chrono::milliseconds(200)); }

  static registry::RegisterArgs args(std::string appid, std::string hostname, int64_t dirty,
                                     std::string version = "v1") {
    registry::RegisterArgs a;
    a.region = "sh";
    a.zone = "sh001";
    a.env = "dev";
    a.appid = std::move(appid);
    a.hostname = std::move(hostname);
    a.addrs = {"http://10.0.0.1:80"};
    a.version = std::move(version);
    a.status = registry::kStatusUp;
    a.dirty_timestamp = dirty;
    return a;
  }
  // The instance's version and dirty_timestamp here; ("", -1) when it is not held.
  std::pair<std::string, int64_t> local(const std::string& appid, const std::string& hostname) {
    std::pair<std::string, int64_t> out{"", -1};
    registry_.read_instance({"sh001", "dev", appid, hostname}, [&](const registry::Instance& i) {
      out = {std::string(i.version), i.dirty_timestamp};
    });
    return out;
  }
  // An instance as a peer renders it in its answers.
  static std::string rendered(const std::string& appid, const std::string& hostname, int64_t dirty,
                              const std::string& version) {
    return R"({"region":"sh","zone":"sh001","env":"dev","appid":")" + appid + R"(","hostname":")" +
           hostname + R"(","addrs":["http://10.0.0.9:80"],"status":1,"version":")" + version +
           R"(","metadata":{},"dirty_timestamp":)" + std::to_string(dirty) + "}";
  }

  SystemClock clock_;
  registry::Registry registry_{clock_, {}};
  FakePeer peer_;
  std::unique_ptr<Replicator> replicator_;
};

}  // namespace muster::cluster::testing
