// Target group documents, read as Prometheus reads them (discovery/targetgroup/targetgroup_test.go
// and the file/http format rules) and written as Prometheus wants them.
#include "sd/target_group.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sd/groups_json_reader.h"

namespace muster::sd {
namespace {

std::string error_of(const ParsedGroups& p) {
  return std::holds_alternative<std::string>(p) ? std::get<std::string>(p) : "";
}

TEST(TargetGroupJson, ReadsTargetsAndLabels) {
  auto p = parse_groups_json(
      R"([{"targets":["localhost:9090","example.org:443"],"labels":{"foo":"bar"}},{"targets":["my.domain"]}])");
  ASSERT_EQ(error_of(p), "");
  const auto& g = std::get<Groups>(p);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].targets.size(), 2u);
  EXPECT_EQ(g[0].targets[1].at("__address__"), "example.org:443");
  EXPECT_EQ(g[0].labels.at("foo"), "bar");
  EXPECT_TRUE(g[1].labels.empty());
}

TEST(TargetGroupJson, KeysMatchCaseInsensitivelyAsInGo) {
  auto p = parse_groups_json(R"([{"Targets":["a:1"],"LABELS":{"x":"y"}}])");
  ASSERT_EQ(error_of(p), "");
  EXPECT_EQ(std::get<Groups>(p)[0].labels.at("x"), "y");
}

TEST(TargetGroupJson, StrictRules) {
  EXPECT_EQ(error_of(parse_groups_json(R"([{"label":{}}])")), "unknown field \"label\"");
  EXPECT_EQ(error_of(parse_groups_json(R"([null])")), "nil target group item found");
  EXPECT_NE(error_of(parse_groups_json(R"([{"targets":"a:1"}])")), "");
  EXPECT_NE(error_of(parse_groups_json(R"([{"targets":[1]}])")), "");
  EXPECT_NE(error_of(parse_groups_json(R"([{"labels":{"a":1}}])")), "");
  EXPECT_NE(error_of(parse_groups_json(R"([{"labels":{"1a":"x"}}])")), "");
  EXPECT_NE(error_of(parse_groups_json(R"({"targets":[]})")), "");
  EXPECT_NE(error_of(parse_groups_json("")), "");  // an empty .json file is a parse error
  EXPECT_NE(error_of(parse_groups_json("[{")), "");
}

// A source is read in pieces as they arrive (64 KiB from a file): a key, a string, a number or a
// "null" cut anywhere reads as the whole document does, good or bad.
TEST(TargetGroupJson, ReadInPiecesOfAnySizeAsWhole) {
  const std::vector<std::string> documents = {
      R"([{"targets":["localhost:9090","ex\u0061mple.org:443"],"labels":{"foo":"b\"ar"}},)"
      R"({"Targets":null,"labels":null},{"targets":["my.domain"],"labels":{"a":"1","a":"2"}}])",
      R"([{"targets":["a:1"]},null])",
      R"([{"labels":{"ok":"x","bad-name":"y"}}])",
      R"([{"labels":{"n":12345}}])",
      R"(nul)",
      R"([{"targets":["a:1"]}] x)",
  };
  for (const auto& doc : documents) {
    const ParsedGroups whole = parse_groups_json(doc);
    for (size_t size = 1; size <= doc.size(); ++size) {
      GroupsJsonReader reader;
      for (size_t at = 0; at < doc.size(); at += size)
        reader.write(std::string_view(doc).substr(at, size));
      const ParsedGroups pieces = reader.finish();
      ASSERT_EQ(error_of(pieces), error_of(whole)) << doc << " in pieces of " << size;
      if (auto* groups = std::get_if<Groups>(&whole)) {
        EXPECT_EQ(std::get<Groups>(pieces), *groups);
      }
    }
  }
  const auto read = std::get<Groups>(parse_groups_json(documents[0]));
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read[0].targets[1].at("__address__"), "example.org:443");
  EXPECT_EQ(read[0].labels.at("foo"), "b\"ar");
  EXPECT_TRUE(read[1].targets.empty());
  EXPECT_EQ(read[2].labels.at("a"), "2") << "a repeated label: the last counts, as in Go";
}

TEST(TargetGroupJson, ProblemsSayWhatIsWrong) {
  EXPECT_EQ(error_of(parse_groups_json(R"([{"targets":["a:1"]},null])")),
            "nil target group item found");
  EXPECT_EQ(error_of(parse_groups_json(R"([{"labels":{"bad-name":"y"}}])")),
            "\"bad-name\" is not a valid label name");
  EXPECT_EQ(error_of(parse_groups_json(R"([{"labels":{"n":1}}])")),
            "label \"n\" must be a string, not number");
  EXPECT_EQ(error_of(parse_groups_json(R"([{"targets":[{}]}])")),
            "\"targets\" must be a list of strings");
  EXPECT_EQ(error_of(parse_groups_json(R"([{"labels":[]}])")),
            "\"labels\" must be an object of strings");
  EXPECT_EQ(error_of(parse_groups_json(R"([[]])")), "a target group must be an object, not array");
  EXPECT_EQ(error_of(parse_groups_json(R"({"targets":[]})")),
            "the document must be a list of target groups, not object");
  EXPECT_EQ(error_of(parse_groups_json("[{")).rfind("invalid JSON: ", 0), 0u);
}

TEST(TargetGroupJson, NullDocumentIsZeroGroups) {
  EXPECT_TRUE(std::get<Groups>(parse_groups_json("null")).empty());
  EXPECT_TRUE(std::get<Groups>(parse_groups_json("[]")).empty());
  // A missing targets key means zero targets, not an error.
  EXPECT_TRUE(std::get<Groups>(parse_groups_json(R"([{"labels":{"a":"b"}}])"))[0].targets.empty());
}

TEST(TargetGroupYaml, ReadsAndIsStrict) {
  auto p = parse_groups_yaml(
      "- targets: ['localhost:9090', 'example.org:443']\n"
      "  labels: {foo: bar}\n- targets: ['my.domain']\n");
  ASSERT_EQ(error_of(p), "");
  EXPECT_EQ(std::get<Groups>(p).size(), 2u);
  EXPECT_NE(error_of(parse_groups_yaml("- targets: 'localhost:9090'\n")), "");
  EXPECT_NE(error_of(parse_groups_yaml("- label: {}\n")).find("unknown field \"label\""),
            std::string::npos);
  EXPECT_NE(error_of(parse_groups_yaml("- targets: []\n  targets: []\n")), "");
  EXPECT_NE(error_of(parse_groups_yaml("- null\n")), "");
  EXPECT_NE(error_of(parse_groups_yaml("- targets\n")), "");  // a partial write
  EXPECT_TRUE(std::get<Groups>(parse_groups_yaml("")).empty());
  EXPECT_TRUE(std::get<Groups>(parse_groups_yaml("null\n")).empty());
}

TEST(TargetGroupLabels, NamesAreValidatedAndSanitized) {
  EXPECT_TRUE(valid_label_name("_a1"));
  EXPECT_FALSE(valid_label_name("1a"));
  EXPECT_FALSE(valid_label_name("a-b"));
  EXPECT_FALSE(valid_label_name(""));
  EXPECT_EQ(sanitize_label_name("management.port-x"), "management_port_x");
}

TEST(TargetGroupRender, MergesTargetsWithEqualLabelsInFirstOrder) {
  Groups groups{
      {{{{"__address__", "a:1"}}, {{"__address__", "b:1"}, {"rack", "r1"}}}, {{"job", "x"}}, "s0"},
      {{{{"__address__", "c:1"}}}, {{"job", "x"}}, "s1"},
      {{{{"rack", "no-address"}}}, {}, "s2"},
  };
  EXPECT_EQ(render_groups_json(groups), R"([{"targets":["a:1","c:1"],"labels":{"job":"x"}},)"
                                        R"({"targets":["b:1"],"labels":{"job":"x","rack":"r1"}}])");
  EXPECT_EQ(render_groups_json(Groups{}), "[]");
  // What is written reads back.
  auto back = parse_groups_json(render_groups_json(groups));
  ASSERT_EQ(error_of(back), "");
  EXPECT_EQ(std::get<Groups>(back).size(), 2u);
}

// The document is made in one allocation of its size: the size is counted as Boost.JSON writes.
TEST(TargetGroupRender, TheSizeOfEveryStringIsCountedAsWritten) {
  std::string every_byte;
  for (int c = 0; c < 256; ++c)
    every_byte += static_cast<char>(c);
  for (std::string_view s :
       {std::string_view(""), std::string_view("a:1"),
        std::string_view("\"q\" \\ \n\t\x01\x1f\x7f /"),
        std::string_view("caf\xc3\xa9 \xe2\x80\xa8"), std::string_view(every_byte)})
    EXPECT_EQ(quoted_json_size(s), boost::json::serialize(boost::json::string_view(s)).size()) << s;
  Groups groups{{{{{"__address__", "a\"\n:1"}}, {{"__address__", "b:1"}, {"ra-ck", "r\x01"}}},
                 {{"job", "x\\"}, {"ra_ck", "y"}},
                 "s0"}};
  const std::string doc = render_groups_json(groups);
  EXPECT_EQ(doc, R"([{"targets":["a\"\n:1"],"labels":{"job":"x\\","ra_ck":"y"}},)"
                 R"({"targets":["b:1"],"labels":{"job":"x\\","ra_ck":"y"}}])");
  EXPECT_EQ(doc.capacity(), doc.size()) << doc;
}

}  // namespace
}  // namespace muster::sd
