// --nodes and --zones parsing (docs/decisions.md §6).
#include <gtest/gtest.h>

#include "cluster/cluster_options.h"

namespace muster::cluster {
namespace {

TEST(ParseNodesTest, SplitsOnCommasAndTrims) {
  const auto nodes = parse_nodes("127.0.0.1:7171, 127.0.0.1:7172,,node-3:80");
  ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(nodes));
  EXPECT_EQ(std::get<0>(nodes),
            (std::vector<std::string>{"127.0.0.1:7171", "127.0.0.1:7172", "node-3:80"}));
  EXPECT_TRUE(std::get<0>(parse_nodes("")).empty());
}

TEST(ParseNodesTest, NamesTheBadAddress) {
  for (const char* bad : {"localhost", "h:", ":80", "h:http", "h:70000", "h:0"}) {
    const auto nodes = parse_nodes(std::string("127.0.0.1:1,") + bad);
    ASSERT_TRUE(std::holds_alternative<std::string>(nodes)) << bad;
    EXPECT_EQ(std::get<1>(nodes), "\"" + std::string(bad) + "\" is not host:port");
  }
}

TEST(ParseZonesTest, ZonesByCommaNodesBySemicolon) {
  const auto zones = parse_zones("sh002=10.0.0.1:7171;10.0.0.2:7171,bj001=10.1.0.1:7171");
  ASSERT_TRUE(std::holds_alternative<ZoneNodes>(zones)) << std::get<1>(zones);
  const auto& z = std::get<0>(zones);
  ASSERT_EQ(z.size(), 2u);
  EXPECT_EQ(z[0].first, "sh002");
  EXPECT_EQ(z[0].second, (std::vector<std::string>{"10.0.0.1:7171", "10.0.0.2:7171"}));
  EXPECT_EQ(z[1].first, "bj001");
}

TEST(ParseZonesTest, RejectsEntriesWithoutZoneOrNodes) {
  EXPECT_EQ(std::get<1>(parse_zones("10.0.0.1:7171")),
            "\"10.0.0.1:7171\" is not zone=host:port;host:port");
  EXPECT_EQ(std::get<1>(parse_zones("sh002=")), "zone sh002 has no nodes");
  EXPECT_EQ(std::get<1>(parse_zones("sh002=x")), "\"x\" is not host:port");
}

}  // namespace
}  // namespace muster::cluster
