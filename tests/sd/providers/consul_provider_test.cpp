// consul_sd against a Consul stand-in on loopback (Consul itself is not a Debian 12 package):
// the answers and exact request URLs of Prometheus's discovery/consul/consul_test.go.
#include "sd/providers/consul_provider.h"

#include <gtest/gtest.h>

#include <mutex>

#include "http/server.h"
#include "provider_harness.h"

namespace muster::sd {
namespace {

using namespace std::chrono_literals;

constexpr const char* kHealth =
    R"([{"Node":{"Node":"node1","Address":"1.1.1.1","TaggedAddresses":{"lan":"192.168.10.10"},)"
    R"("Meta":{"rack_name":"2304"}},"Service":{"ID":"test","Service":"test","Tags":["tag1"],)"
    R"("Address":"","Meta":{"version":"1.0.0"},"Port":3341},)"
    R"("Checks":[{"CheckID":"serfHealth","Status":"passing"}]}])";

class FakeConsul {
 public:
  FakeConsul() {
    auto answer = [this](std::string body) {
      http::Response r;
      r.body = std::move(body);
      if (send_index_) r.headers.push_back({"X-Consul-Index", std::to_string(index_)});
      return r;
    };
    router_.add("GET", "/v1/agent/self", [this, answer](const http::Request& r) -> http::Outcome {
      record(r);
      std::lock_guard lock(mu_);
      return answer(agent_);
    });
    router_.add("GET", "/v1/catalog/services",
                [this, answer](const http::Request& r) -> http::Outcome {
                  record(r);
                  std::lock_guard lock(mu_);
                  return answer(catalog_);
                });
    router_.add_prefix("GET", "/v1/health/service/",
                       [this, answer](const http::Request& r) -> http::Outcome {
                         record(r);
                         std::lock_guard lock(mu_);
                         return answer(r.path == "/v1/health/service/test" ? kHealth : "[]");
                       });
    http::ServerOptions o;
    o.port = 0;
    o.threads = 1;
    server_ = std::make_unique<http::Server>(o, router_);
    server_->start();
  }
  ~FakeConsul() { server_->shutdown(); }
  std::string addr() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  void set_catalog(std::string c) {
    std::lock_guard lock(mu_);
    catalog_ = std::move(c);
    ++index_;
  }
  void set_agent(std::string a) {
    std::lock_guard lock(mu_);
    agent_ = std::move(a);
  }
  std::string token() {
    std::lock_guard lock(mu_);
    return token_;
  }
  bool send_index_ = true;

 private:
  void record(const http::Request& r) {
    std::lock_guard lock(mu_);
    requests_.push_back(std::string(r.path) + (r.query.empty() ? "" : "?" + std::string(r.query)));
    token_ = std::string(r.header("X-Consul-Token"));
  }
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::string catalog_ = R"({"test":["tag1"],"other":["tag2"]})";
  std::string agent_ = R"({"Config":{"Datacenter":"test-dc"}})";
  std::string token_;
  uint64_t index_ = 1;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

ConsulConfig config_for(const FakeConsul& c) {
  ConsulConfig config;
  config.server = c.addr();
  config.refresh_interval = 100ms;
  return config;
}

bool saw(FakeConsul& c, const std::string& request) {
  for (const auto& r : c.requests())
    if (r == request) return true;
  return false;
}

TEST(ConsulGroup, LabelsAsPrometheusSetsThem) {
  auto made = consul_group(kHealth, "test", "test-dc", ",");
  ASSERT_TRUE(std::holds_alternative<TargetGroup>(made));
  const auto& g = std::get<TargetGroup>(made);
  EXPECT_EQ(g.source, "test");
  EXPECT_EQ(g.labels.at("__meta_consul_service"), "test");
  EXPECT_EQ(g.labels.at("__meta_consul_dc"), "test-dc");
  ASSERT_EQ(g.targets.size(), 1u);
  const auto& t = g.targets[0];
  EXPECT_EQ(t.at("__address__"), "1.1.1.1:3341");  // service address empty: the node's
  EXPECT_EQ(t.at("__meta_consul_node"), "node1");
  EXPECT_EQ(t.at("__meta_consul_tags"), ",tag1,");
  EXPECT_EQ(t.at("__meta_consul_service_port"), "3341");
  EXPECT_EQ(t.at("__meta_consul_metadata_rack_name"), "2304");
  EXPECT_EQ(t.at("__meta_consul_tagged_address_lan"), "192.168.10.10");
  EXPECT_EQ(t.at("__meta_consul_service_metadata_version"), "1.0.0");
  EXPECT_EQ(t.at("__meta_consul_health"), "passing");
  EXPECT_TRUE(std::holds_alternative<std::string>(consul_group("{}", "x", "dc", ",")));
}

TEST(ConsulGroup, HealthIsTheWorstCheckOrMaintenance) {
  auto health_of = [](const std::string& checks) -> std::string {  // a copy: the group is gone
    const std::string body =
        R"([{"Node":{"Node":"n","Address":"h"},"Service":{"Port":1},"Checks":)" + checks + "}]";
    return std::string(std::get<TargetGroup>(consul_group(body, "s", "dc", ","))
                           .targets[0]
                           .at("__meta_consul_health"));
  };
  EXPECT_EQ(health_of("[]"), "passing");
  EXPECT_EQ(health_of(R"([{"CheckID":"a","Status":"passing"},{"CheckID":"b","Status":"warning"}])"),
            "warning");
  EXPECT_EQ(
      health_of(R"([{"CheckID":"a","Status":"critical"},{"CheckID":"b","Status":"warning"}])"),
      "critical");
  EXPECT_EQ(health_of(R"([{"CheckID":"_service_maintenance:x","Status":"critical"}])"),
            "maintenance");
  EXPECT_EQ(health_of(R"([{"CheckID":"a","Status":"odd"}])"), "");
  // No tags: the separator twice.
  EXPECT_EQ(std::get<TargetGroup>(consul_group(R"([{"Service":{"Port":1}}])", "s", "dc", ","))
                .targets[0]
                .at("__meta_consul_tags"),
            ",,");
}

// Prometheus's shouldWatch matrix: TestConfiguredService, ...WithTag, ...WithTags,
// TestNonConfiguredService.
TEST(ConsulShouldWatch, ServicesAndTagsAsPrometheus) {
  ConsulConfig c;
  c.services = {"configuredServiceName"};
  EXPECT_TRUE(consul_should_watch(c, "configuredServiceName", {""}));
  EXPECT_FALSE(consul_should_watch(c, "nonConfiguredServiceName", {""}));

  c.tags = {"http"};
  EXPECT_FALSE(consul_should_watch(c, "configuredServiceName", {""}));
  EXPECT_TRUE(consul_should_watch(c, "configuredServiceName", {"http"}));
  EXPECT_FALSE(consul_should_watch(c, "nonConfiguredServiceName", {""}));
  EXPECT_FALSE(consul_should_watch(c, "nonConfiguredServiceName", {"http"}));

  c.tags = {"http", "v1"};
  struct Case {
    std::string name;
    std::vector<std::string> tags;
    bool watched;
  };
  const std::vector<Case> cases = {
      {"configuredServiceName", {""}, false},
      {"configuredServiceName", {"http", "v1"}, true},
      {"nonConfiguredServiceName", {""}, false},
      {"nonConfiguredServiceName", {"http", "v1"}, false},
      {"configuredServiceName", {"http", "v1", "foo"}, true},
      {"configuredServiceName", {"foo", "http", "v1"}, true},
      {"configuredServiceName", {"http", "v1", "v1"}, true},
  };
  for (const Case& k : cases)
    EXPECT_EQ(consul_should_watch(c, k.name, k.tags), k.watched) << k.name << " " << k.tags[0];

  ConsulConfig any;  // no services: every service
  EXPECT_TRUE(consul_should_watch(any, "nonConfiguredServiceName", {""}));
}

TEST(ConsulProvider, AllOptions) {
  FakeConsul consul;
  testing::Harness h;
  ConsulConfig c = config_for(consul);
  c.services = {"test"};
  c.node_meta = {{"rack_name", "2304"}};
  c.tags = {"tag1"};
  c.allow_stale = true;
  c.token = "fake-token";
  auto p = make_provider(c, h.context("consul/0"));
  p->start(h.sender());
  ASSERT_TRUE(h.run_until([&] { return h.merged.contains("test"); }));
  // Tags set: the catalog decides which services; only "test" is both listed and configured.
  EXPECT_TRUE(saw(consul, "/v1/catalog/services?node-meta=rack_name%3A2304&stale=&wait=120000ms"));
  EXPECT_TRUE(saw(
      consul, "/v1/health/service/test?node-meta=rack_name%3A2304&stale=&tag=tag1&wait=120000ms"));
  EXPECT_FALSE(saw(
      consul, "/v1/health/service/other?node-meta=rack_name%3A2304&stale=&tag=tag1&wait=120000ms"));
  EXPECT_EQ(consul.token(), "fake-token");
  EXPECT_EQ(h.merged.at("test").labels.at("__meta_consul_dc"), "test-dc");
  p->stop();
}

// TestGetDatacenterShouldReturnError: an agent answer without a usable datacenter is a failure;
// nothing is watched until the agent names one.
TEST(ConsulProvider, AnAgentWithoutADatacenterIsAFailure) {
  for (const std::string agent :
       {R"({"Config":{"Not-Datacenter":"test-dc"}})", R"({"Config":{"Datacenter":2}})"}) {
    SCOPED_TRACE(agent);
    FakeConsul consul;
    consul.set_agent(agent);
    testing::Harness h;
    auto p = make_provider(config_for(consul), h.context("consul/0"));
    p->start(h.sender());
    ASSERT_TRUE(h.run_until([&] { return h.stats->failures.value() >= 1; }));
    h.run_for(200ms);
    EXPECT_EQ(consul.requests(), (std::vector<std::string>{"/v1/agent/self"}));
    EXPECT_TRUE(h.batches.empty());
    p->stop();
  }
}

TEST(ConsulProvider, AllServicesThroughTheCatalog) {
  FakeConsul consul;
  testing::Harness h;
  auto p = make_provider(config_for(consul), h.context("consul/0"));
  p->start(h.sender());
  ASSERT_TRUE(h.run_until([&] { return h.merged.contains("test"); }));
  EXPECT_EQ(h.merged.at("test").labels.at("__meta_consul_dc"), "test-dc");
  EXPECT_TRUE(saw(consul, "/v1/agent/self"));
  EXPECT_TRUE(saw(consul, "/v1/catalog/services?stale=&wait=120000ms"));
  EXPECT_TRUE(saw(consul, "/v1/health/service/test?stale=&wait=120000ms"));
  EXPECT_TRUE(saw(consul, "/v1/health/service/other?stale=&wait=120000ms"));
  // The catalog's next query carries its index.
  ASSERT_TRUE(h.run_until(
      [&] { return saw(consul, "/v1/catalog/services?index=1&stale=&wait=120000ms"); }));
  // A service gone from the catalog is emptied.
  consul.set_catalog(R"({"other":["tag2"]})");
  ASSERT_TRUE(h.run_until([&] { return !h.merged.contains("test"); }));
  p->stop();
}

TEST(ConsulProvider, ConfiguredServiceWithTagsAndDatacenter) {
  FakeConsul consul;
  testing::Harness h;
  ConsulConfig c = config_for(consul);
  c.services = {"test"};
  c.tags = {"tag1"};
  c.datacenter = "dc1";
  c.token = "secret";
  auto p = make_provider(c, h.context("consul/0"));
  p->start(h.sender());
  ASSERT_TRUE(h.run_until([&] { return h.merged.contains("test"); }));
  EXPECT_FALSE(saw(consul, "/v1/agent/self"));  // the datacenter is configured
  EXPECT_TRUE(saw(consul, "/v1/health/service/test?dc=dc1&stale=&tag=tag1&wait=120000ms"));
  EXPECT_EQ(h.merged.at("test").labels.at("__meta_consul_dc"), "dc1");
  p->stop();
}

TEST(ConsulProvider, OneServiceWithoutTheCatalog) {
  FakeConsul consul;
  testing::Harness h;
  ConsulConfig c = config_for(consul);
  c.services = {"test"};
  c.allow_stale = false;
  auto p = make_provider(c, h.context("consul/0"));
  p->start(h.sender());
  ASSERT_TRUE(h.run_until([&] { return h.merged.contains("test"); }));
  for (const auto& r : consul.requests())
    EXPECT_EQ(r.find("/v1/catalog"), std::string::npos) << r;
  EXPECT_TRUE(saw(consul, "/v1/health/service/test?wait=120000ms"));
  p->stop();
}

TEST(ConsulProvider, NoTargetsWhenNoServiceHasTheTag) {
  FakeConsul consul;
  testing::Harness h;
  ConsulConfig c = config_for(consul);
  c.tags = {"missing"};
  auto p = make_provider(c, h.context("consul/0"));
  p->start(h.sender());
  ASSERT_TRUE(
      h.run_until([&] { return saw(consul, "/v1/catalog/services?stale=&wait=120000ms"); }));
  h.run_for(300ms);
  EXPECT_TRUE(h.merged.empty());
  for (const auto& r : consul.requests())
    EXPECT_EQ(r.find("/v1/health"), std::string::npos) << r;
  p->stop();
}

TEST(ConsulProvider, AnswersWithoutAnIndexAreIgnoredAsInPrometheus) {
  FakeConsul consul;
  consul.send_index_ = false;
  testing::Harness h;
  ConsulConfig c = config_for(consul);
  c.services = {"test"};
  auto p = make_provider(c, h.context("consul/0"));
  p->start(h.sender());
  ASSERT_TRUE(h.run_until([&] { return consul.requests().size() >= 3; }));
  EXPECT_TRUE(h.batches.empty());
  p->stop();
}

}  // namespace
}  // namespace muster::sd
