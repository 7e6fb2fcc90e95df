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

}  // namespace
}  // namespace muster::api
