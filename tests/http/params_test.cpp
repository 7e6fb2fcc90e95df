// Parameter binding rules of docs/decisions.md §1.
#include <gtest/gtest.h>

#include "http/json_params.h"
#include "http/params.h"

namespace muster::http {
namespace {

Params form(std::string_view text) {
  Params p;
  EXPECT_FALSE(parse_urlencoded(text, p)) << text;
  return p;
}

TEST(Urlencoded, DecodesPlusAndEscapes) {
  const auto p = form("a=x+y&b=%7B%22k%22%3A1%7D&c=%e4%b8%ad");
  EXPECT_EQ(p.first("a"), "x y");
  EXPECT_EQ(p.first("b"), "{\"k\":1}");
  EXPECT_EQ(p.first("c"), "\xe4\xb8\xad");
}

TEST(PercentDecodePath, DecodesEscapesButNotPlus) {
  EXPECT_EQ(percent_decode_path("a%2Fb+c%3a"), "a/b+c:");
  EXPECT_EQ(percent_decode_path(""), "");
  EXPECT_EQ(percent_decode_path("%zz"), std::nullopt);
  EXPECT_EQ(percent_decode_path("ab%4"), std::nullopt);
}

TEST(Urlencoded, RepeatedKeysAreArraysInOrderAndEmptyValuesDropped) {
  const auto p = form("addrs=a&addrs=&addrs=b&x=1");
  EXPECT_EQ(p.all("addrs"), (std::vector<std::string_view>{"a", "b"}));
  EXPECT_EQ(p.first("addrs"), "a");
  EXPECT_EQ(form("addrs=").all("addrs").size(), 0u);
}

TEST(Urlencoded, CommaIsPlainText) {
  EXPECT_EQ(form("addrs=a,b").all("addrs"), (std::vector<std::string_view>{"a,b"}));
}

TEST(Urlencoded, RawJsonCharactersAreAccepted) {
  const auto p = form("metadata={\"weight\":\"10\",\"u\":\"http://x/y\"}");
  EXPECT_EQ(p.first("metadata"), "{\"weight\":\"10\",\"u\":\"http://x/y\"}");
}

TEST(Urlencoded, FirstEqualsSplitsAndKeysWithoutValueAreEmpty) {
  const auto p = form("k=a=b&flag&&z=");
  EXPECT_EQ(p.first("k"), "a=b");
  EXPECT_EQ(p.first("flag"), "");
  EXPECT_EQ(p.first("z"), "");
  EXPECT_FALSE(p.first("missing"));
}

TEST(Urlencoded, MalformedEscapeIsAnError) {
  for (std::string_view bad : {"a=%", "a=%4", "a=%zz", "%g0=1"}) {
    Params p;
    const auto err = parse_urlencoded(bad, p);
    ASSERT_TRUE(err) << bad;
    EXPECT_NE(err->find("malformed percent escape"), std::string::npos);
  }
}

Params json(std::string_view body) {
  Params p;
  const auto err = parse_json_object(body, p);
  EXPECT_FALSE(err) << body << ": " << err.value_or("");
  return p;
}

std::string json_error(std::string_view body) {
  Params p;
  return parse_json_object(body, p).value_or("");
}

TEST(JsonBody, ScalarsArraysNullAndLiterals) {
  const auto p =
      json(R"({"zone":"sh001","status":1,"replication":true,"addrs":["a","b"],"version":null,)"
           R"("dirty_timestamp":1606990000000000001,"f":1.50})");
  EXPECT_EQ(p.first("zone"), "sh001");
  EXPECT_EQ(p.first("status"), "1");
  EXPECT_EQ(p.first("replication"), "true");
  EXPECT_EQ(p.all("addrs"), (std::vector<std::string_view>{"a", "b"}));
  EXPECT_FALSE(p.first("version"));
  EXPECT_EQ(p.first("dirty_timestamp"), "1606990000000000001");
  EXPECT_EQ(p.first("f"), "1.50");
}

TEST(JsonBody, MetadataObjectBecomesStringObjectText) {
  const auto p = json(R"({"metadata":{"weight":10,"x":"y","b":false,"n":null}})");
  EXPECT_EQ(p.first("metadata"), R"({"weight":"10","x":"y","b":"false","n":""})");
  const auto s = json(R"({"metadata":"{\"weight\":\"10\"}"})");
  EXPECT_EQ(s.first("metadata"), R"({"weight":"10"})");
  const auto set = json(R"({"hostname":["a","b"],"metadata":[{"k":1},"{\"k\":\"2\"}"]})");
  EXPECT_EQ(set.all("metadata"), (std::vector<std::string_view>{R"({"k":"1"})", R"({"k":"2"})"}));
}

TEST(JsonBody, RejectsWhatIsNotAFlatObject) {
  EXPECT_NE(json_error("[1,2]"), "");
  EXPECT_NE(json_error("\"text\""), "");
  EXPECT_NE(json_error("42"), "");
  EXPECT_NE(json_error("{"), "");
  EXPECT_NE(json_error("{} {}"), "");
  EXPECT_NE(json_error(R"({"a":{"b":1}})").find("only allowed for metadata"), std::string::npos);
  EXPECT_NE(json_error(R"({"a":[[1]]})").find("nested JSON arrays"), std::string::npos);
  EXPECT_NE(json_error(R"({"metadata":{"a":{"b":1}}})").find("metadata values"), std::string::npos);
  EXPECT_NE(json_error(R"({"metadata":{"a":[1]}})").find("metadata values"), std::string::npos);
}

TEST(StringObject, ParsesScalarsAsLiteralText) {
  const auto r = parse_string_object(R"({"weight":10,"ratio":1.50,"on":true,"none":null,"s":"x"})");
  ASSERT_TRUE(std::holds_alternative<StringPairs>(r));
  EXPECT_EQ(
      std::get<StringPairs>(r),
      (StringPairs{{"weight", "10"}, {"ratio", "1.50"}, {"on", "true"}, {"none", ""}, {"s", "x"}}));
}

TEST(StringObject, RejectsOtherDocuments) {
  for (std::string_view bad :
       {"{bad", "[1]", "\"x\"", "1", R"({"a":{}})", R"({"a":[]})", "", "null"}) {
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_string_object(bad))) << bad;
  }
}

TEST(ContentType, JsonIsRecognisedLoosely) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("Application/JSON; charset=utf-8"));
  EXPECT_FALSE(is_json_content_type("application/x-www-form-urlencoded"));
  EXPECT_FALSE(is_json_content_type(""));
  EXPECT_FALSE(is_json_content_type("application/jsonx"));
}

// Issue 27.9: a Consul client's ?token= never reaches the access log.
TEST(RedactedTarget, TokensAreHidden) {
  EXPECT_EQ(redacted_target("/v1/health/service/web?token=s3cret&index=5"),
            "/v1/health/service/web?token=<hidden>&index=5");
  EXPECT_EQ(redacted_target("/a?index=5&TOKEN=s3cret&%74oken=s3cret&token"),
            "/a?index=5&TOKEN=<hidden>&%74oken=<hidden>&token");
  EXPECT_EQ(redacted_target("/a?tokens=x&my_token=y"), "/a?tokens=x&my_token=y");
  EXPECT_EQ(redacted_target("/a"), "/a");
  EXPECT_EQ(redacted_target("/a?%zz=1&token=x"), "/a?%zz=1&token=<hidden>");
}

}  // namespace
}  // namespace muster::http
