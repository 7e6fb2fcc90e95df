// Anti-entropy in process against a scripted peer: a round compares digests, fetches the apps
// that differ, adopts the peer's newer copies and the instances it alone holds, and sends the peer
// a register of each instance it holds older or not at all, an app it lacks included.
#include "cluster/anti_entropy.h"

#include "replication_fixture.h"

namespace muster::cluster {
namespace {

using AntiEntropyTest = testing::ReplicationTest;
using muster::testing::eventually;

TEST_F(AntiEntropyTest, ARoundPullsNewerCopiesAndPushesWhatThePeerLacks) {
  registry_.register_instance(args("web", "h1", 100, "v1"));  // the peer's copy is newer
  registry_.register_instance(args("web", "h2", 200, "v1"));  // the peer's copy is older
  registry_.register_instance(args("other", "o1", 300));      // the peer lacks the app
  peer_.answer("/discovery/digests", 0,
               R"([{"appid":"web","env":"dev","digest":"1","instances":3}])");
  peer_.answer("/discovery/fetch", 0,
               R"({"instances":{"sh001":[)" + rendered("web", "h1", 500, "v9") + "," +
                   rendered("web", "h2", 150, "v0") + "," + rendered("web", "h3", 50, "v5") +
                   "]}}");
  AntiEntropy ae(registry_, *replicator_, std::chrono::hours(1), std::chrono::seconds(2));
  ae.resync(peer_.addr());
  ASSERT_TRUE(eventually([&] { return local("web", "h3").first == "v5"; }));
  EXPECT_EQ(local("web", "h1"), (std::pair<std::string, int64_t>{"v9", 500}));
  EXPECT_EQ(local("web", "h2"), (std::pair<std::string, int64_t>{"v1", 200})) << "ours is newer";
  ASSERT_TRUE(eventually([&] { return peer_.writes_to("/discovery/register").size() == 2; }));
  std::set<std::string> pushed;
  for (const auto& w : peer_.writes_to("/discovery/register"))
    pushed.insert(w.field("appid") + "/" + w.field("hostname"));
  EXPECT_EQ(pushed, (std::set<std::string>{"web/h2", "other/o1"}));
  bool fetched_web = false;
  for (const auto& r : peer_.reads())
    fetched_web = fetched_web || r.find("/discovery/fetch?appid=web&env=dev") == 0;
  EXPECT_TRUE(fetched_web);
}

// Found by the soak (issue 19): a node that cancelled an instance while partitioned from its peer
// pulled the peer's older copy back, and for a Consul registration (no lease) it stayed forever.
TEST_F(AntiEntropyTest, ACancelThePeerMissedIsSentToItNotPulledBack) {
  registry_.register_instance(args("web", "h1", 100));
  ASSERT_TRUE(registry_.cancel({"sh001", "dev", "web", "h1"}));
  const auto cancelled = registry_.cancelled_at({"sh001", "dev", "web", "h1"});
  ASSERT_TRUE(cancelled);
  peer_.answer("/discovery/digests", 0,
               R"([{"appid":"web","env":"dev","digest":"1","instances":1}])");
  peer_.answer("/discovery/fetch", 0,
               R"({"instances":{"sh001":[)" + rendered("web", "h1", 100, "v1") + "]}}");
  AntiEntropy ae(registry_, *replicator_, std::chrono::hours(1), std::chrono::seconds(2));
  ae.resync(peer_.addr());
  ASSERT_TRUE(eventually([&] { return peer_.writes_to("/discovery/cancel").size() == 1; }));
  const auto cancel = peer_.writes_to("/discovery/cancel").front();  // a copy: it returns one
  EXPECT_EQ(cancel.field("hostname"), "h1");
  EXPECT_EQ(cancel.field("replication"), "true");
  EXPECT_EQ(cancel.field("latest_timestamp"), std::to_string(*cancelled));
  EXPECT_EQ(local("web", "h1").second, -1) << "not pulled back";
  EXPECT_TRUE(peer_.writes_to("/discovery/register").empty());
}

TEST_F(AntiEntropyTest, EqualDigestsFetchNothing) {
  registry_.register_instance(args("web", "h1", 100));
  std::string digests = "[";
  for (const auto& d : registry_.digests()) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(d.digest));
    digests += R"({"appid":")" + d.appid + R"(","env":")" + d.env + R"(","digest":")" + hex +
               R"(","instances":)" + std::to_string(d.instances) + "}";
  }
  peer_.answer("/discovery/digests", 0, digests + "]");
  AntiEntropy ae(registry_, *replicator_, std::chrono::hours(1), std::chrono::seconds(2));
  ae.resync(peer_.addr());
  ASSERT_TRUE(eventually([&] {
    for (const auto& r : peer_.reads())
      if (r.rfind("/discovery/digests", 0) == 0) return true;
    return false;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (const auto& r : peer_.reads())
    EXPECT_NE(r.rfind("/discovery/fetch?", 0), 0u) << r;
  EXPECT_TRUE(peer_.writes().empty());
}

}  // namespace
}  // namespace muster::cluster
