// The original per-request replication forms (docs/decisions.md §6.3) and reading peers' answers
// back.
#include <gtest/gtest.h>

#include "cluster/peer_form.h"
#include "cluster/snapshot.h"
#include "common/clock.h"
#include "http/params.h"

namespace muster::cluster {
namespace {

class PeerFormTest : public ::testing::Test {
 protected:
  PeerFormTest() : registry_(clock_, {}) {}
  void add(std::string hostname, registry::Metadata metadata = {}) {
    registry::RegisterArgs a;
    a.region = "sh";
    a.zone = "sh001";
    a.env = "dev";
    a.appid = "provider";
    a.hostname = std::move(hostname);
    a.version = "v 1";
    a.addrs = {"http://10.0.0.1:80", "grpc://10.0.0.1:90"};
    a.metadata = std::move(metadata);
    a.dirty_timestamp = 1700000000000000000;
    registry_.register_instance(a);
  }
  std::string form(std::string_view hostname) {
    std::string out;
    registry_.read_instance({"sh001", "dev", "provider", hostname},
                            [&](const registry::Instance& i) { out = register_form(i); });
    return out;
  }
  // At the instances' own time: a copy more than an hour ahead of the clock is refused.
  FakeClock clock_{1'700'000'000'000'000'000};
  registry::Registry registry_;
};

TEST_F(PeerFormTest, RegisterSendsAddrsAsRepeatedKeysAndKeepsTheDirtyTimestamp) {
  add("h 1", {{"weight", "10"}});
  http::Params p;
  ASSERT_FALSE(http::parse_urlencoded(form("h 1"), p));
  EXPECT_EQ(p.all("addrs"),
            (std::vector<std::string_view>{"http://10.0.0.1:80", "grpc://10.0.0.1:90"}));
  EXPECT_EQ(p.first("hostname").value_or(""), "h 1");
  EXPECT_EQ(p.first("version").value_or(""), "v 1");
  EXPECT_EQ(p.first("metadata").value_or(""), R"({"weight":"10"})");
  EXPECT_EQ(p.first("dirty_timestamp").value_or(""), "1700000000000000000");
  EXPECT_EQ(p.first("from_zone").value_or(""), "true");
  EXPECT_FALSE(p.first("replication")) << "the link adds it per target";
}

TEST_F(PeerFormTest, RenewCarriesTheDirtyTimestamp) {
  add("h1");
  std::string body;
  registry_.read_instance({"sh001", "dev", "provider", "h1"},
                          [&](const registry::Instance& i) { body = renew_form(i); });
  EXPECT_EQ(body,
            "region=sh&zone=sh001&env=dev&appid=provider&hostname=h1&from_zone=true&"
            "dirty_timestamp=1700000000000000000");
}

TEST_F(PeerFormTest, SetRepeatsHostnamesStatusesAndMetadata) {
  registry::SetArgs s{"sh001", "dev", "provider", {"h1", "h2"}, {1, 2}, {{{"a", "b"}}, {}}, 0};
  http::Params p;
  ASSERT_FALSE(http::parse_urlencoded(set_form("sh", s, 42), p));
  EXPECT_EQ(p.all("hostname"), (std::vector<std::string_view>{"h1", "h2"}));
  EXPECT_EQ(p.all("status"), (std::vector<std::string_view>{"1", "2"}));
  EXPECT_EQ(p.all("metadata"), (std::vector<std::string_view>{R"({"a":"b"})", "{}"}));
  EXPECT_EQ(p.first("set_timestamp").value_or(""), "42");
}

TEST_F(PeerFormTest, SnapshotAppliesInstancesAndKeepsNewerLocalCopies) {
  add("h1");
  const std::string body =
      R"({"code":0,"data":{"provider":[)"
      R"({"zone":"sh001","env":"dev","appid":"provider","hostname":"h1","addrs":["x://old"],)"
      R"("status":1,"dirty_timestamp":5},)"
      R"({"zone":"sh002","env":"dev","appid":"provider","hostname":"h2","addrs":["x://new"],)"
      R"("metadata":{"b":"2","a":"1"},"status":2,"dirty_timestamp":7},)"
      R"({"zone":"sh002","env":"dev","appid":"provider","hostname":"no-dirty"}]}})";
  const auto counts = apply_snapshot(registry_, body);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->applied, 2u);
  EXPECT_EQ(counts->skipped, 1u) << "the one without dirty_timestamp";
  registry_.read_instance({"sh001", "dev", "provider", "h1"}, [](const registry::Instance& i) {
    EXPECT_EQ(std::string(*i.addrs.begin()), "http://10.0.0.1:80") << "the local copy is newer";
  });
  bool found = false;
  registry_.read_instance({"sh002", "dev", "provider", "h2"}, [&](const registry::Instance& i) {
    found = true;
    EXPECT_EQ(i.status, registry::kStatusDown);
    EXPECT_EQ(i.dirty_timestamp, 7);
  });
  EXPECT_TRUE(found);
  EXPECT_FALSE(apply_snapshot(registry_, R"({"code":-500,"data":{}})"));
  EXPECT_FALSE(apply_snapshot(registry_, "not json"));
}

// Issue 15.1: one instance that is not valid UTF-8 costs only itself, never the whole syncup.
TEST_F(PeerFormTest, SnapshotSkipsAnUnreadableInstanceAndKeepsTheRest) {
  const std::string body =
      "{\"code\":0,\"data\":{\"provider\":["
      "{\"zone\":\"sh001\",\"env\":\"dev\",\"appid\":\"provider\",\"hostname\":\"bad\xff\","
      "\"addrs\":[\"x://1\"],\"status\":1,\"dirty_timestamp\":5},"
      "{\"zone\":\"sh001\",\"env\":\"dev\",\"appid\":\"provider\",\"hostname\":\"good\","
      "\"addrs\":[\"x://2\"],\"metadata\":{\"k\":\"v\xc3\"},\"status\":1,\"dirty_timestamp\":5},"
      "{\"zone\":\"sh001\",\"env\":\"dev\",\"appid\":\"provider\",\"hostname\":\"fine\","
      "\"addrs\":[\"x://3\"],\"status\":1,\"dirty_timestamp\":5}]}}";
  const auto counts = apply_snapshot(registry_, body);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->applied, 1u);
  EXPECT_EQ(counts->skipped, 2u);
  EXPECT_TRUE(registry_.read_instance({"sh001", "dev", "provider", "fine"},
                                      [](const registry::Instance&) {}));
}

// Issue 27.2: what a peer sends is held to the limits of a client's write: a copy over one is
// skipped, the rest applied.
TEST_F(PeerFormTest, SnapshotSkipsAnInstanceOverTheFieldLimits) {
  const auto inst = [](const std::string& host, const std::string& extra,
                       const std::string& addrs = R"(["x://1"])") {
    return R"({"zone":"sh001","env":"dev","appid":"provider","hostname":")" + host +
           R"(","addrs":)" + addrs + R"(,"status":1,"dirty_timestamp":5)" + extra + "}";
  };
  std::string addrs = "[";
  for (int i = 0; i < 33; ++i)
    addrs += std::string(i ? "," : "") + R"("x://a")";
  const std::string body =
      R"({"code":0,"data":{"provider":[)" + inst(std::string(257, 'h'), "") + "," +
      inst("big-md", R"(,"metadata":{"k":")" + std::string(8200, 'v') + R"("})") + "," +
      inst("many-addrs", "", addrs + "]") + "," +
      inst("long-version", R"(,"version":")" + std::string(300, 'v') + R"(")") + "," +
      inst("fine", "") + "]}}";
  const auto counts = apply_snapshot(registry_, body);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->applied, 1u);
  EXPECT_EQ(counts->skipped, 4u);
  EXPECT_TRUE(registry_.read_instance({"sh001", "dev", "provider", "fine"},
                                      [](const registry::Instance&) {}));
  EXPECT_FALSE(registry_.read_instance({"sh001", "dev", "provider", "big-md"},
                                       [](const registry::Instance&) {}));
}

TEST(DigestsTest, ParsesTheRouteAndSkipsMalformedEntries) {
  const auto d = parse_digests(
      R"({"code":0,"data":[{"appid":"a","env":"dev","instances":2,"digest":"00000000000000ff"},)"
      R"({"appid":"b","env":"dev","instances":"x","digest":"1"}]})");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ(d->at({"a", "dev"}).digest, 255u);
  EXPECT_EQ(d->at({"a", "dev"}).instances, 2u);
  EXPECT_FALSE(parse_digests(R"({"code":-500})"));
}

}  // namespace
}  // namespace muster::cluster
