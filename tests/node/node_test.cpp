// A whole node built in process from NodeOptions (issue 16.1): it serves, registers itself as
// infra.discovery, takes a libmuster registration, and stops in order.
#include "node/node.h"

#include <gtest/gtest.h>

#include "muster/registrar.h"
#include "sdk/real_node.h"

namespace muster::node {
namespace {

NodeOptions loopback() {
  NodeOptions o;
  o.server.host = "127.0.0.1";
  o.server.port = 0;
  o.server.threads = 1;
  o.zone = "sh001";
  o.anti_entropy = std::chrono::nanoseconds(0);
  return o;
}

size_t instances_of(registry::Registry& registry, std::string_view appid) {
  size_t n = 0;
  registry.read_app("dev", appid, [&](const registry::App& app) { n = app.instance_count; });
  return n;
}

TEST(NodeInProcess, ServesRegistersItselfAndStops) {
  boost::asio::io_context main;  // runs the eviction timer; outlives the node
  SystemClock clock;
  Node node(loopback(), clock);
  const auto started = node.start(main);
  ASSERT_TRUE(std::holds_alternative<std::monostate>(started)) << std::get<std::string>(started);
  EXPECT_EQ(node.identity().advertise_addr, node.bound());
  EXPECT_TRUE(
      testing::eventually([&] { return instances_of(node.registry(), "infra.discovery") == 1; }));

  ClientOptions co;
  co.nodes = {node.bound()};
  co.zone = "sh001";
  co.env = "dev";
  co.hostname = "h1";
  Client client(co);
  {
    Registrar registrar(client, Registration{"demo", {"http://127.0.0.1:9"}, "v1", {}, 1});
    EXPECT_TRUE(testing::eventually([&] { return registrar.registrations() == 1; }));
    EXPECT_EQ(instances_of(node.registry(), "demo"), 1u);
    EXPECT_TRUE(registrar.cancel());
  }
  EXPECT_EQ(instances_of(node.registry(), "demo"), 0u);
  node.stop();
  EXPECT_EQ(instances_of(node.registry(), "infra.discovery"), 0u) << "it cancels itself";
  EXPECT_FALSE(testing::port_open(
      static_cast<uint16_t>(std::stoi(node.bound().substr(node.bound().rfind(':') + 1)))));
}

TEST(NodeInProcess, AnAddressInUseIsAnErrorNotAnException) {
  boost::asio::io_context main;
  SystemClock clock;
  Node first(loopback(), clock);
  ASSERT_TRUE(std::holds_alternative<std::monostate>(first.start(main)));
  NodeOptions same = loopback();
  same.server.port =
      static_cast<uint16_t>(std::stoi(first.bound().substr(first.bound().rfind(':') + 1)));
  Node second(std::move(same), clock);
  const auto started = second.start(main);
  ASSERT_TRUE(std::holds_alternative<std::string>(started));
  EXPECT_NE(std::get<std::string>(started).find("cannot listen on 127.0.0.1:"), std::string::npos);
}

}  // namespace
}  // namespace muster::node
