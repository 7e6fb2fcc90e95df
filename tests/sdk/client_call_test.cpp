// Client::call, the one-off request of tools (the muster CLI) against real nodes: it tries each
// node once until one answers with an envelope, whatever its code.
#include <gtest/gtest.h>

#include "muster/client.h"
#include "sdk/real_node.h"

namespace muster {
namespace {

using testing::free_port;
using testing::RealNode;

TEST(ClientCallTest, ADeadNodeIsSkippedAndTheAnswerComesWithItsCode) {
  RealNode node(free_port());
  const std::string dead = "127.0.0.1:" + std::to_string(free_port());
  const Client client(testing::options_for({dead, node.addr()}, "tool"));
  const auto r =
      client.call("POST", "/discovery/register",
                  "zone=sh001&env=dev&appid=web&hostname=h1&status=1&addrs=http://1.2.3.4:80");
  ASSERT_TRUE(std::holds_alternative<Answer>(r)) << std::get<std::string>(r);
  EXPECT_EQ(std::get<Answer>(r).node, node.addr());
  EXPECT_EQ(std::get<Answer>(r).code, 0);
  const auto missing = client.call("GET", "/discovery/fetch?env=dev&appid=nothing&status=3");
  ASSERT_TRUE(std::holds_alternative<Answer>(missing));
  EXPECT_EQ(std::get<Answer>(missing).code, -404);
  const auto fetched = client.call("GET", "/discovery/fetch?env=dev&appid=web&status=3");
  ASSERT_TRUE(std::holds_alternative<Answer>(fetched));
  EXPECT_NE(std::get<Answer>(fetched).body.find("\"hostname\":\"h1\""), std::string::npos);
}

TEST(ClientCallTest, NoNodeAnsweringNamesEveryNodeTried) {
  const std::string a = "127.0.0.1:" + std::to_string(free_port());
  const Client client(testing::options_for({a}, "tool"));
  const auto r = client.call("GET", "/discovery/nodes");
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_EQ(std::get<std::string>(r), "no node answered (tried " + a + ")");
}

TEST(ClientCallTest, AHoldIsALongPoll) {
  RealNode node(free_port());
  const Client client(testing::options_for({node.addr()}, "tool"));
  ASSERT_EQ(std::get<Answer>(
                client.call("POST", "/discovery/register",
                            "zone=sh001&env=dev&appid=web&hostname=h1&status=1&addrs=a://b:1"))
                .code,
            0);
  const auto first =
      client.call("GET", "/discovery/polls?env=dev&hostname=t&appid=web&latest_timestamp=0");
  ASSERT_TRUE(std::holds_alternative<Answer>(first));
  const auto body = std::get<Answer>(first).body;
  const size_t at = body.find("\"latest_timestamp\":");
  ASSERT_NE(at, std::string::npos) << body;
  const std::string latest = body.substr(at + 19, body.find_first_of(",}", at) - at - 19);
  // Nothing changes: the node holds the poll for the hold asked, then answers -304.
  const auto held =
      client.call("GET", "/discovery/polls?env=dev&hostname=t&appid=web&latest_timestamp=" + latest,
                  "", std::chrono::milliseconds(300));
  ASSERT_TRUE(std::holds_alternative<Answer>(held)) << std::get<std::string>(held);
  EXPECT_EQ(std::get<Answer>(held).code, -304);
}

}  // namespace
}  // namespace muster
