// host:port as muster reads it everywhere (common/endpoint): names, IPv4, IPv6 in brackets.
#include "common/endpoint.h"

#include <gtest/gtest.h>

namespace muster {
namespace {

TEST(Endpoint, ReadsNamesIpv4AndBracketedIpv6) {
  EXPECT_EQ(parse_host_port("localhost:7171"), (Endpoint{"localhost", 7171, ""}));
  EXPECT_EQ(parse_host_port("127.0.0.1:0"), (Endpoint{"127.0.0.1", 0, ""}));
  EXPECT_EQ(parse_host_port("[::1]:7171"), (Endpoint{"::1", 7171, ""}));
  EXPECT_EQ(parse_host_port("[fe80::1:2]:65535"), (Endpoint{"fe80::1:2", 65535, ""}));
  EXPECT_EQ(parse_host_port("node-1.sh001.example:80"), (Endpoint{"node-1.sh001.example", 80, ""}));
}

TEST(Endpoint, RefusesWhatIsNotHostAndPort) {
  for (const char* bad : {"", "nohost", ":7171", "host:", "host:65536", "host:123456", "host:-1",
                          "host:7a", "::1:7171", "[::1]", "[::1:7171", "user@host:1", "host:1/x",
                          "ho%41st:1", "[v1.x]:1", "host:1:2", " host:1"})
    EXPECT_FALSE(parse_host_port(bad).has_value()) << bad;
}

TEST(Endpoint, ReadsTheSchemeHostAndPortOfAUrl) {
  EXPECT_EQ(parse_url("http://10.0.0.1:80"), (Endpoint{"10.0.0.1", 80, "http"}));
  EXPECT_EQ(parse_url("grpc://[::1]:9000/path?q#f"), (Endpoint{"::1", 9000, "grpc"}));
  for (const char* bad : {"10.0.0.1:80", "http://10.0.0.1", "http://u@h:1", "http:///x", "",
                          "http://[::1]/", "mailto:a@b"})
    EXPECT_FALSE(parse_url(bad).has_value()) << bad;
}

TEST(Endpoint, WritesIpv6InBrackets) {
  EXPECT_EQ(join_host_port("::1", 7171), "[::1]:7171");
  EXPECT_EQ(join_host_port("10.0.0.1", 80), "10.0.0.1:80");
  EXPECT_EQ((Endpoint{"a", 1, ""}).host_port(), "a:1");
  for (const char* text : {"[::1]:7171", "127.0.0.1:1", "name:65535"})
    EXPECT_EQ(parse_host_port(text)->host_port(), text);
}

}  // namespace
}  // namespace muster
