// The discovery wire format every side shares (src/wire/): forms as a Bilibili server reads them,
// instances and envelopes read leniently, node lists.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <map>

#include "wire/form.h"
#include "wire/instance_json.h"
#include "wire/node_list.h"

namespace muster::wire {
namespace {

TEST(WireForm, FieldsArePercentEncodedAndJoined) {
  std::string out;
  append_field(out, "appid", "a b&c=d/é");
  append_field(out, "latest_timestamp", int64_t{-12});
  EXPECT_EQ(out, "appid=a%20b%26c%3Dd%2F%C3%A9&latest_timestamp=-12");
}

TEST(WireForm, ARegisterSendsEachAddressAsItsOwnField) {
  std::string out;
  append_identity(out, {"sh001", "dev", "web", "h1"});
  append_registration(out, std::vector<std::string>{"http://1.2.3.4:80", "grpc://1.2.3.4:90"}, 2,
                      "v1", MetadataJson::of(std::map<std::string, std::string>{{"k", "\"q\""}}));
  EXPECT_EQ(out,
            "zone=sh001&env=dev&appid=web&hostname=h1&addrs=http%3A%2F%2F1.2.3.4%3A80"
            "&addrs=grpc%3A%2F%2F1.2.3.4%3A90&status=2&version=v1"
            "&metadata=%7B%22k%22%3A%22%5C%22q%5C%22%22%7D");  // {"k":"\"q\""}
}

TEST(WireForm, MetadataIsOneJsonObjectAndLeftOutWhenEmpty) {
  MetadataJson m;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.text(), "{}");
  std::string out;
  append_registration(out, std::vector<std::string>{}, 1, "", m);
  EXPECT_EQ(out, "status=1&version=");
  m.add("a", "1");
  m.add("b\n", "x");
  const auto parsed = boost::json::parse(m.text());
  EXPECT_EQ(parsed.at("a").as_string(), "1");
  EXPECT_EQ(parsed.at("b\n").as_string(), "x");
}

TEST(WireInstance, ReadsEveryFieldAndKeepsWhatIsNotAString) {
  const auto v = boost::json::parse(
      R"({"region":"sh","zone":"sh001","env":"dev","appid":"web","hostname":"h1","version":"v2",
          "addrs":["http://a:1",7,"grpc://a:2"],"metadata":{"z":"1","a":{"n":2}},"status":2,
          "latest_timestamp":5,"dirty_timestamp":6,"reg_timestamp":"x"})");
  const InstanceRecord r = read_instance(v.as_object());
  EXPECT_EQ(r.region, "sh");
  EXPECT_EQ(r.hostname, "h1");
  EXPECT_EQ(r.addrs, (std::vector<std::string>{"http://a:1", "grpc://a:2"}));
  ASSERT_EQ(r.metadata.size(), 2u);
  EXPECT_EQ(r.metadata[0], (std::pair<std::string, std::string>{"a", R"({"n":2})"}));
  EXPECT_EQ(r.metadata[1].first, "z");  // sorted by key
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.latest_timestamp, 5);
  EXPECT_EQ(r.dirty_timestamp, 6);
  EXPECT_TRUE(r.lease) << "no \"lease\": an ordinary instance";
  EXPECT_TRUE(r.readable());
  EXPECT_FALSE(read_instance(boost::json::parse(R"({"lease":false})").as_object()).lease);
}

TEST(WireInstance, MissingOrMistypedFieldsStayEmpty) {
  const auto v = boost::json::parse(R"({"zone":3,"addrs":"x","metadata":[],"status":"up"})");
  const InstanceRecord r = read_instance(v.as_object());
  EXPECT_EQ(r.zone, "");
  EXPECT_TRUE(r.addrs.empty());
  EXPECT_TRUE(r.metadata.empty());
  EXPECT_EQ(r.status, 0);
}

TEST(WireInstance, TextThatIsNotUtf8IsNotReadable) {
  InstanceRecord r;
  r.hostname = "ok";
  EXPECT_TRUE(r.readable());
  r.metadata.emplace_back("k", "\xff");
  EXPECT_FALSE(r.readable());
}

TEST(WireEnvelope, ReadsCodeMessageDataAndError) {
  const auto e = read_envelope(R"({"code":-304,"message":"x","data":{"a":1},"error":{"-404":[]}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, -304);
  EXPECT_EQ(e->message, "x");
  EXPECT_TRUE(e->data.is_object());
  EXPECT_TRUE(e->error.is_object());
  const auto bare = read_envelope(R"({"code":0})");
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->data.is_null());
}

TEST(WireEnvelope, WhatIsNotAnEnvelopeIsNone) {
  for (const char* body : {"", "<html>", "[]", R"({"code":"0"})", R"({"data":{}})"})
    EXPECT_FALSE(read_envelope(body)) << body;
}

TEST(WireEnvelope, OneBadStringDoesNotFailTheAnswer) {
  const auto e = read_envelope("{\"code\":0,\"data\":{\"h\":\"\xff\"}}");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 0);
}

TEST(WireNodeList, SplitsTrimsAndDropsEmptyParts) {
  EXPECT_EQ(split_list(" a:1, b:2 ,,c:3 "), (std::vector<std::string_view>{"a:1", "b:2", "c:3"}));
  EXPECT_EQ(split_list("x;y", ';'), (std::vector<std::string_view>{"x", "y"}));
  EXPECT_TRUE(split_list("").empty());
  EXPECT_TRUE(split_list(" , ").empty());
}

TEST(WireNodeList, HostPortNeedsAHostAndAPortInRange) {
  EXPECT_TRUE(valid_host_port("127.0.0.1:7171"));
  EXPECT_TRUE(valid_host_port("node-1:65535"));
  for (const char* bad : {"", "host", ":80", "host:", "host:0", "host:65536", "host:8o"})
    EXPECT_FALSE(valid_host_port(bad)) << bad;
}

}  // namespace
}  // namespace muster::wire
