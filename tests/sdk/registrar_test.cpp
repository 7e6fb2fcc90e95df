// Client options and the Registrar against real nodes (issue 4): register -> visible, renews,
// set, cancel; a node restarted empty gets the instance again through -404; a dead node makes the
// registrar move to the next one, where the instance stays registered.
#include "muster/registrar.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "sdk/real_node.h"

namespace muster {
namespace {

using testing::eventually;
using testing::free_port;
using testing::http;
using testing::RealNode;

ClientOptions options_for(std::vector<std::string> nodes) {
  return testing::options_for(std::move(nodes), "svc-1");
}

Registration provider() {
  Registration r;
  r.appid = "provider";
  r.addrs = {"http://10.0.0.1:8000", "grpc://10.0.0.1:9000"};
  r.version = "v1";
  r.metadata = {{"weight", "10"}};
  return r;
}

std::string fetch(uint16_t port) {
  return http(port, "GET", "/discovery/fetch?env=dev&appid=provider&status=3");
}

bool has_instance(uint16_t port) {
  return fetch(port).find("\"hostname\":\"svc-1\"") != std::string::npos;
}

TEST(ClientOptionsTest, ReadTheEnvironmentLikeKratos) {
  setenv("DISCOVERY_NODES", "127.0.0.1:7171, 127.0.0.1:7172", 1);
  setenv("ZONE", "sh001", 1);
  setenv("DEPLOY_ENV", "prod", 1);
  setenv("HOSTNAME", "box-1", 1);
  setenv("REGION", "sh", 1);
  const auto o = options_from_environment();
  ASSERT_TRUE(std::holds_alternative<ClientOptions>(o)) << std::get<1>(o);
  const auto& opts = std::get<0>(o);
  EXPECT_EQ(opts.nodes, (std::vector<std::string>{"127.0.0.1:7171", "127.0.0.1:7172"}));
  EXPECT_EQ(opts.env, "prod");
  ClientOptions given;
  given.env = "dev";
  EXPECT_EQ(std::get<0>(options_from_environment(given)).env, "dev") << "given values win";
  unsetenv("DISCOVERY_NODES");
  EXPECT_EQ(std::get<1>(options_from_environment()),
            "no registry nodes: set DISCOVERY_NODES (host:port,host:port) or nodes");
  setenv("DISCOVERY_NODES", "nohost", 1);
  EXPECT_EQ(std::get<1>(options_from_environment()),
            "node \"nohost\" is not host:port (or https://host:port)");
  // TLS nodes and files (docs/security.md).
  setenv("DISCOVERY_NODES", "https://127.0.0.1:7171/,http://127.0.0.1:7172", 1);
  setenv("MUSTER_CA", "/nonexistent/ca.pem", 1);
  const auto tls = options_from_environment();
  ASSERT_TRUE(std::holds_alternative<ClientOptions>(tls)) << std::get<1>(tls);
  EXPECT_EQ(std::get<0>(tls).ca_file, "/nonexistent/ca.pem");
  const auto made = Client::create(std::get<0>(tls));
  ASSERT_TRUE(std::holds_alternative<std::string>(made)) << "a CA that cannot be read";
  EXPECT_EQ(std::get<1>(made).rfind("TLS: CA /nonexistent/ca.pem: ", 0), 0) << std::get<1>(made);
  setenv("MUSTER_CERT", "/nonexistent/cert.pem", 1);
  EXPECT_EQ(std::get<1>(options_from_environment()),
            "a client certificate needs both cert_file and key_file");
  for (const char* v :
       {"DISCOVERY_NODES", "ZONE", "DEPLOY_ENV", "HOSTNAME", "REGION", "MUSTER_CA", "MUSTER_CERT"})
    unsetenv(v);
  EXPECT_TRUE(std::holds_alternative<std::string>(Client::create(ClientOptions{})));
}

TEST(RegistrarTest, RegistersRenewsSetsAndCancels) {
  RealNode node(free_port());
  Client client(options_for({node.addr()}));
  Registrar registrar(client, provider(), std::chrono::milliseconds(200));
  ASSERT_TRUE(eventually([&] { return has_instance(node.port()); }));
  const std::string body = fetch(node.port());
  EXPECT_NE(body.find("\"addrs\":[\"http://10.0.0.1:8000\",\"grpc://10.0.0.1:9000\"]"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("\"metadata\":{\"weight\":\"10\"}"), std::string::npos) << body;
  EXPECT_TRUE(eventually([&] { return registrar.renews() >= 2; }));
  EXPECT_TRUE(registrar.set(2, {{"color", "blue"}}));
  EXPECT_NE(fetch(node.port()).find("\"status\":2"), std::string::npos);
  EXPECT_NE(fetch(node.port()).find("\"color\":\"blue\""), std::string::npos);
  EXPECT_TRUE(registrar.cancel());
  EXPECT_FALSE(has_instance(node.port()));
  EXPECT_EQ(registrar.registrations(), 1u);
}

TEST(RegistrarTest, DestructionCancels) {
  RealNode node(free_port());
  Client client(options_for({node.addr()}));
  {
    Registrar registrar(client, provider(), std::chrono::milliseconds(200));
    ASSERT_TRUE(eventually([&] { return has_instance(node.port()); }));
  }
  EXPECT_FALSE(has_instance(node.port()));
}

TEST(RegistrarTest, ANodeRestartedEmptyGetsTheInstanceAgainWithinOneRenew) {
  const uint16_t port = free_port();
  auto node = std::make_unique<RealNode>(port);
  Client client(options_for({node->addr()}));
  Registrar registrar(client, provider(), std::chrono::milliseconds(300));
  ASSERT_TRUE(eventually([&] { return has_instance(port); }));
  node->stop(SIGKILL);
  node = std::make_unique<RealNode>(port);  // empty: only a new registration brings it back
  EXPECT_TRUE(eventually([&] { return has_instance(port); }, std::chrono::seconds(3)));
  // The node holds it as soon as it answered the register; the registrar counts it once it has
  // read that answer (a CI run asked in between).
  EXPECT_TRUE(eventually([&] { return registrar.registrations() >= 2; }));
}

TEST(RegistrarTest, MovesToAnotherNodeWhenItsNodeDies) {
  // Two separate nodes (no cluster): the instance can only reach the second by the registrar
  // moving there.
  auto a = std::make_unique<RealNode>(free_port());
  auto b = std::make_unique<RealNode>(free_port());
  Client client(options_for({a->addr(), b->addr()}));
  Registrar registrar(client, provider(), std::chrono::milliseconds(200));
  ASSERT_TRUE(eventually([&] { return has_instance(a->port()) || has_instance(b->port()); }));
  auto& used = has_instance(a->port()) ? a : b;
  auto& other = has_instance(a->port()) ? b : a;
  ASSERT_FALSE(has_instance(other->port()));
  used->stop(SIGKILL);
  EXPECT_TRUE(eventually([&] { return has_instance(other->port()); }, std::chrono::seconds(5)));
}

}  // namespace
}  // namespace muster
