// The JSON shapes of docs/decisions.md §2, pinned as exact strings.
#include "api/render.h"

#include <gtest/gtest.h>

#include "api/envelope.h"

namespace muster::api {
namespace {

using namespace registry;

TEST(Envelope, KeyOrderAndHeader) {
  auto r = envelope(kNotFound, "instance not found");
  EXPECT_EQ(r.body, R"({"code":-404,"message":"instance not found","ttl":1})");
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].name, "kratos-status-code");
  EXPECT_EQ(r.headers[0].value, "-404");
  EXPECT_EQ(envelope(kOk, "0", "{}", "[]").body,
            R"({"code":0,"message":"0","ttl":1,"data":{},"error":[]})");
}

class RenderTest : public ::testing::Test {
 protected:
  RenderTest() : registry_(clock_, {}) {
    RegisterArgs a;
    a.region = "sh";
    a.zone = "sh001";
    a.env = "dev";
    a.appid = "provider";
    a.hostname = "h1";
    a.addrs = {"http://172.1.1.1:8000", "grpc://172.1.1.1:9999"};
    a.version = "111";
    a.metadata = {{"weight", "10"}};
    registry_.register_instance(a);
    a.hostname = "h0";
    a.zone = "sh002";
    a.status = kStatusDown;
    a.metadata = {};
    registry_.register_instance(a);
  }
  std::string info(std::string_view zone, int mask) {
    std::string out;
    registry_.read_app("dev", "provider",
                       [&](const App& app) { append_instance_info(out, app, zone, mask); });
    return out;
  }
  FakeClock clock_{1606990000000000000, 1};
  Registry registry_;
};

TEST_F(RenderTest, InstanceFieldsInSpecOrder) {
  const std::string all = info("sh001", 3);
  EXPECT_EQ(
      all, R"({"instances":{"sh001":[{"region":"sh","zone":"sh001","env":"dev","appid":"provider",)"
           R"("hostname":"h1","addrs":["http://172.1.1.1:8000","grpc://172.1.1.1:9999"],)"
           R"("version":"111","metadata":{"weight":"10"},"status":1,)"
           R"("reg_timestamp":1606990000000000000,"up_timestamp":1606990000000000000,)"
           R"("renew_timestamp":1606990000000000000,"dirty_timestamp":1606990000000000000,)"
           R"("latest_timestamp":1606990000000000000}]},"latest_timestamp":1606990000000000001})");
}

TEST_F(RenderTest, StatusFilterKeepsZonesAsEmptyLists) {
  const std::string up = info("", kStatusUp);
  EXPECT_NE(up.find(R"("sh002":[])"), std::string::npos);
  EXPECT_NE(up.find(R"("hostname":"h1")"), std::string::npos);
  EXPECT_EQ(info("", 4).find("hostname"), std::string::npos);
  // Zones come sorted and the empty metadata is {} (never null).
  const std::string all = info("", 3);
  EXPECT_LT(all.find("sh001"), all.find("sh002"));
  EXPECT_NE(all.find(R"("metadata":{})"), std::string::npos);
}

TEST_F(RenderTest, FlatFormForBrpc) {
  std::string out;
  registry_.read_app("dev", "provider",
                     [&](const App& app) { append_instance_info_flat(out, app, "", 3); });
  EXPECT_EQ(out.rfind(R"({"instances":[{"region")", 0), 0u);
  EXPECT_NE(out.find(R"("zone_instances":{"sh001":[)"), std::string::npos);
}

// Issue 27.7: a Consul check's Header and Body reach peers and the data directory, never another
// reader (fetch, polls, the CLI).
TEST_F(RenderTest, CheckHeadersAndBodiesGoOnlyToPeers) {
  RegisterArgs a;
  a.region = "sh";
  a.zone = "sh001";
  a.env = "dev";
  a.appid = "pay";
  a.hostname = "pay-1";
  a.addrs = {"http://172.1.1.2:80"};
  a.lease = false;
  a.metadata = {{"consul-checks",
                 R"([{"CheckID":"service:pay-1","Status":"passing","Output":"ok",)"
                 R"("Header":{"Authorization":["Bearer s3cret"]},"Body":"s3cret"}])"}};
  registry_.register_instance(a);
  const auto render = [&](Reader reader) {
    std::string out;
    registry_.read_instance({"sh001", "dev", "pay", "pay-1"}, [&](const registry::Instance& inst) {
      append_instance(out, inst, 0, reader);
    });
    return out;
  };
  const std::string client = render(Reader::kClient);
  EXPECT_EQ(client.find("s3cret"), std::string::npos) << client;
  EXPECT_NE(client.find(R"(\"Output\":\"ok\")"), std::string::npos) << client;
  EXPECT_NE(render(Reader::kPeer).find("Bearer s3cret"), std::string::npos);
  std::string info;
  registry_.read_app("dev", "pay", [&](const App& app) { append_instance_info(info, app, "", 3); });
  EXPECT_EQ(info.find("s3cret"), std::string::npos) << "a client by default";
}

}  // namespace
}  // namespace muster::api
