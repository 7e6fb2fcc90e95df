// muster_sd against a real `muster serve` on loopback: instances become targets with their
// __meta_muster_* labels, and changes arrive by long poll.
#include "sd/providers/muster_provider.h"

#include <gtest/gtest.h>

#include "provider_harness.h"
#include "sdk/real_node.h"

namespace muster::sd {
namespace {

using muster::testing::free_port;
using muster::testing::http;
using muster::testing::RealNode;

std::string register_instance(uint16_t port, const std::string& appid, const std::string& hostname,
                              const std::string& zone, const std::string& http_port) {
  return http(port, "POST", "/discovery/register",
              "region=sh&zone=" + zone + "&env=dev&status=1&appid=" + appid +
                  "&hostname=" + hostname + "&version=v1" + "&addrs=http%3A%2F%2F127.0.0.1%3A" +
                  http_port + "&addrs=grpc%3A%2F%2F127.0.0.1%3A9001" +
                  "&metadata=%7B%22weight%22%3A%2210%22%2C%22git.sha%22%3A%22abc%22%7D");
}

TEST(MusterGroup, ConvertsInstancesToTargets) {
  Instance in;
  in.appid = "web";
  in.env = "dev";
  in.zone = "sh001";
  in.region = "sh";
  in.hostname = "h1";
  in.version = "v2";
  in.addrs = {"grpc://10.0.0.1:9001", "http://10.0.0.1:8080/path"};
  in.metadata = {{"git.sha", "abc"}};
  Instance no_http = in;
  no_http.hostname = "h2";
  no_http.addrs = {"grpc://10.0.0.2:9001"};
  const TargetGroup g = muster_group("web", {in, no_http}, "http");
  EXPECT_EQ(g.source, "web");
  ASSERT_EQ(g.targets.size(), 1u);  // no http address: left out
  const LabelSet& t = g.targets[0];
  EXPECT_EQ(t.at("__address__"), "10.0.0.1:8080");
  EXPECT_EQ(t.at("__meta_muster_appid"), "web");
  EXPECT_EQ(t.at("__meta_muster_env"), "dev");
  EXPECT_EQ(t.at("__meta_muster_zone"), "sh001");
  EXPECT_EQ(t.at("__meta_muster_region"), "sh");
  EXPECT_EQ(t.at("__meta_muster_hostname"), "h1");
  EXPECT_EQ(t.at("__meta_muster_version"), "v2");
  EXPECT_EQ(t.at("__meta_muster_status"), "1");
  EXPECT_EQ(t.at("__meta_muster_scheme"), "http");
  EXPECT_EQ(t.at("__meta_muster_metadata_git_sha"), "abc");
  EXPECT_EQ(muster_group("web", {in}, "grpc").targets[0].at("__address__"), "10.0.0.1:9001");
}

TEST(MusterProvider, FollowsARealNodeByLongPoll) {
  RealNode node(free_port());
  register_instance(node.port(), "web", "h1", "sh001", "8001");
  register_instance(node.port(), "web", "h2", "sh002", "8002");
  testing::Harness h;
  auto made = make_provider(MusterConfig{{node.addr()}, "dev", {"web", "api"}, "", "http", "", {}},
                            h.context("muster/0"));
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<Provider>>(made));
  auto provider = std::move(std::get<std::unique_ptr<Provider>>(made));
  provider->start(h.sender());
  ASSERT_TRUE(h.run_until([&] { return h.addresses().size() == 2; }));
  EXPECT_EQ(h.addresses(), (std::vector<std::string>{"127.0.0.1:8001", "127.0.0.1:8002"}));
  EXPECT_EQ(h.merged.at("web").targets[0].at("__meta_muster_metadata_weight"), "10");
  // A new instance arrives by the long poll (the poll hold is 30 s; this must be far sooner).
  const auto began = std::chrono::steady_clock::now();
  register_instance(node.port(), "api", "h3", "sh001", "8003");
  ASSERT_TRUE(h.run_until([&] { return h.merged.contains("api"); }));
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(10));
  // Cancelled: gone, also by the long poll. (When an app's last instance goes, the node answers
  // the poll only at the end of its hold, as Bilibili's discovery does; the group is then emptied.)
  http(node.port(), "POST", "/discovery/cancel",
       "region=sh&zone=sh001&env=dev&appid=web&hostname=h1");
  ASSERT_TRUE(h.run_until([&] { return h.merged.at("web").targets.size() == 1; }));
  EXPECT_EQ(h.merged.at("web").targets[0].at("__address__"), "127.0.0.1:8002");
  provider->stop();
}

TEST(MusterProvider, ZoneFilter) {
  RealNode node(free_port());
  register_instance(node.port(), "web", "h1", "sh001", "8001");
  register_instance(node.port(), "web", "h2", "sh002", "8002");
  testing::Harness h;
  auto made = make_provider(MusterConfig{{node.addr()}, "dev", {"web"}, "sh002", "http", "", {}},
                            h.context("muster/0"));
  auto provider = std::move(std::get<std::unique_ptr<Provider>>(made));
  provider->start(h.sender());
  ASSERT_TRUE(h.run_until([&] { return !h.addresses().empty(); }));
  h.run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(h.addresses(), (std::vector<std::string>{"127.0.0.1:8002"}));
  provider->stop();
}

TEST(MusterProvider, BadNodeListIsRefused) {
  testing::Harness h;
  auto made =
      make_provider(MusterConfig{{}, "dev", {"web"}, "", "http", "", {}}, h.context("muster/0"));
  ASSERT_TRUE(std::holds_alternative<std::string>(made));
}

}  // namespace
}  // namespace muster::sd
