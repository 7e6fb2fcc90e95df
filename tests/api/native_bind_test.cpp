// Validation of the native API's parameters (docs/api.md, docs/decisions.md §1), one rule per test.
#include "api/native_bind.h"

#include "common/utf8.h"

#include <gtest/gtest.h>

namespace muster::api {
namespace {

http::Params form(std::string_view text) {
  http::Params p;
  EXPECT_FALSE(http::parse_urlencoded(text, p));
  return p;
}

constexpr std::string_view kRegister =
    "zone=sh001&env=dev&appid=provider&hostname=h1&status=1&addrs=http://a:1";

template <typename T>
std::string error_of(const std::variant<T, std::string>& v) {
  return std::holds_alternative<std::string>(v) ? std::get<std::string>(v) : "";
}

TEST(BindRegister, RequiredKeysInOrder) {
  EXPECT_EQ(error_of(bind_register(form(""))), "zone is required");
  EXPECT_EQ(error_of(bind_register(form("zone=z"))), "env is required");
  EXPECT_EQ(error_of(bind_register(form("zone=z&env=e"))), "appid is required");
  EXPECT_EQ(error_of(bind_register(form("zone=z&env=e&appid=a"))), "hostname is required");
  EXPECT_EQ(error_of(bind_register(form("zone=z&env=e&appid=a&hostname=h"))), "status is required");
  EXPECT_EQ(error_of(bind_register(form("zone=z&env=e&appid=a&hostname=h&status=1"))),
            "addrs is required");
  EXPECT_EQ(error_of(bind_register(form("zone=&env=e&appid=a&hostname=h&status=1&addrs=x"))),
            "zone is required");
}

TEST(BindRegister, StatusMustBeUpOrDown) {
  for (auto s : {"0", "3", "-1", "x", "1.0"}) {
    const auto bad = error_of(bind_register(
        form("status=" + std::string(s) + "&zone=z&env=e&appid=a&hostname=h&addrs=x")));
    EXPECT_NE(bad.find("status must be 1 (up) or 2 (down)"), std::string::npos) << s;
  }
  EXPECT_EQ(error_of(bind_register(form("status=&zone=z&env=e&appid=a&hostname=h&addrs=x"))),
            "status is required");
}

TEST(BindRegister, MetadataRules) {
  auto ok = bind_register(form(std::string(kRegister) + "&metadata={\"weight\":10,\"r\":1.50}"));
  ASSERT_EQ(error_of(ok), "");
  EXPECT_EQ(std::get<RegisterRequest>(ok).args.metadata,
            (registry::Metadata{{"weight", "10"}, {"r", "1.50"}}));
  EXPECT_NE(error_of(bind_register(form(std::string(kRegister) + "&metadata={bad")))
                .find("invalid metadata"),
            std::string::npos);
  EXPECT_NE(error_of(bind_register(form(std::string(kRegister) + "&metadata=[1]"))), "");
  EXPECT_EQ(error_of(bind_register(form(std::string(kRegister) + "&metadata="))), "");
}

// Issue 14.2: a Bilibili node replicates an instance without metadata as metadata=null.
TEST(BindRegister, NullMetadataIsNoMetadata) {
  auto r = bind_register(form(std::string(kRegister) + "&metadata=null&replication=true"));
  ASSERT_EQ(error_of(r), "");
  EXPECT_TRUE(std::get<RegisterRequest>(r).args.metadata.empty());
  auto s = bind_set(form("zone=z&env=e&appid=a&hostname=h1&metadata=null"));
  ASSERT_EQ(error_of(s), "");
  EXPECT_TRUE(std::get<SetRequest>(s).args.metadatas.at(0).empty());
}

TEST(BindRegister, BooleansAndIntegers) {
  auto r =
      bind_register(form(std::string(kRegister) + "&replication=T&from_zone=1&dirty_timestamp=5"));
  ASSERT_EQ(error_of(r), "");
  EXPECT_TRUE(std::get<RegisterRequest>(r).replication);
  EXPECT_TRUE(std::get<RegisterRequest>(r).from_zone);
  EXPECT_EQ(std::get<RegisterRequest>(r).args.dirty_timestamp, 5);
  EXPECT_NE(error_of(bind_register(form(std::string(kRegister) + "&replication=yes")))
                .find("replication must be a boolean"),
            std::string::npos);
  EXPECT_NE(error_of(bind_register(form(std::string(kRegister) + "&dirty_timestamp=12a")))
                .find("dirty_timestamp must be an integer"),
            std::string::npos);
}

TEST(BindRegister, AddrsStayWholeAndInOrder) {
  auto r = bind_register(form(std::string(kRegister) + "&addrs=b,c&addrs=d"));
  EXPECT_EQ(std::get<RegisterRequest>(r).args.addrs,
            (std::vector<std::string>{"http://a:1", "b,c", "d"}));
}

TEST(BindSet, CountsMustMatch) {
  const std::string base = "zone=z&env=e&appid=a&hostname=h1&hostname=h2";
  EXPECT_EQ(error_of(bind_set(form(base + "&status=1&status=2"))), "");
  EXPECT_NE(error_of(bind_set(form(base + "&status=1"))).find("status values for 2 hostnames"),
            std::string::npos);
  EXPECT_NE(error_of(bind_set(form(base + "&metadata={}"))).find("metadata values"),
            std::string::npos);
  EXPECT_EQ(error_of(bind_set(form("zone=z&env=e&appid=a"))), "hostname is required");
  EXPECT_NE(error_of(bind_set(form(base + "&status=1&status=3"))), "");
}

TEST(BindFetch, StatusIsRequiredAndABitmask) {
  EXPECT_EQ(error_of(bind_fetch(form("env=e&appid=a"), false)), "status is required");
  EXPECT_EQ(error_of(bind_fetch(form("env=e&appid=a&status=0"), false)), "status is required");
  EXPECT_EQ(error_of(bind_fetch(form("env=e&appid=a&status=7"), false)), "");
  EXPECT_EQ(error_of(bind_fetch(form("appid=a&status=1"), false)), "env is required");
  auto many = bind_fetch(form("env=e&appid=a&appid=b&appid=a&status=3"), true);
  EXPECT_EQ(std::get<FetchRequest>(many).appids, (std::vector<std::string>{"a", "b"}));
}

TEST(BindPoll, CountsAndHostname) {
  EXPECT_EQ(error_of(bind_poll(form("env=e&appid=a&latest_timestamp=0"), false)),
            "hostname is required");
  EXPECT_NE(error_of(bind_poll(form("env=e&hostname=h&appid=a&appid=b&latest_timestamp=0"), false))
                .find("1 latest_timestamp values for 2 appids"),
            std::string::npos);
  auto single = bind_poll(form("env=e&hostname=h&appid=a&appid=b"), true);
  ASSERT_EQ(error_of(single), "");
  EXPECT_EQ(std::get<registry::PollQuery>(single).appids, (std::vector<std::string>{"a"}));
  EXPECT_EQ(std::get<registry::PollQuery>(single).latest, (std::vector<int64_t>{0}));
  auto dup = bind_poll(
      form("env=e&hostname=h&appid=a&appid=a&latest_timestamp=1&latest_timestamp=2"), false);
  EXPECT_EQ(std::get<registry::PollQuery>(dup).latest, (std::vector<int64_t>{1}));
  EXPECT_FALSE(std::get<registry::PollQuery>(dup).report_missing) << "kratos does not ask";
  auto asks =
      bind_poll(form("env=e&hostname=h&appid=a&latest_timestamp=1&report_missing=true"), false);
  EXPECT_TRUE(std::get<registry::PollQuery>(asks).report_missing);
  EXPECT_EQ(error_of(bind_poll(form("env=e&hostname=h&appid=a&latest_timestamp=1&report_missing=2"),
                               false)),
            "report_missing must be a boolean (true or false), got \"2\"");
}

TEST(ParseBool, AcceptsGoSpellingsOnly) {
  for (auto t : {"1", "t", "T", "true", "TRUE", "True"})
    EXPECT_EQ(parse_bool(t), true) << t;
  for (auto f : {"0", "f", "F", "false", "FALSE", "False"})
    EXPECT_EQ(parse_bool(f), false) << f;
  for (auto x : {"yes", "tRuE", "2", ""})
    EXPECT_FALSE(parse_bool(x)) << x;
}

// Issue 15.1: text that is not UTF-8 is refused at the boundary, naming the field, never
// echoing the bytes.
TEST(BindParams, RefusesTextThatIsNotUtf8) {
  http::Request r;
  r.method = "POST";
  const std::string body = std::string(kRegister) + "&hostname=bad%FF";
  r.body = body;
  auto bound = bind_params(r);
  EXPECT_EQ(error_of(bound), "hostname is not valid UTF-8");
  const std::string bad_key = std::string(kRegister) + "&k%C3=1";
  r.body = bad_key;
  EXPECT_EQ(error_of(bind_params(r)), "a parameter name is not valid UTF-8");
  http::Request get;
  get.method = "GET";
  get.query = "env=dev&appid=%ED%A0%80&status=1";  // a surrogate
  EXPECT_EQ(error_of(bind_params(get)), "appid is not valid UTF-8");
  get.query = "env=dev&appid=%E4%B8%AD&status=1";
  EXPECT_EQ(error_of(bind_params(get)), "");
}

// Issue 15.2: every field has a documented limit.
TEST(BindRegister, FieldsHaveLimits) {
  const std::string base = "zone=sh001&env=dev&status=1&addrs=http://a:1";
  EXPECT_EQ(error_of(bind_register(form(base + "&appid=a&hostname=" + std::string(257, 'h')))),
            "hostname is too long: 257 bytes (at most 256)");
  EXPECT_EQ(error_of(bind_register(form(base + "&hostname=h&appid=" + std::string(300, 'a')))),
            "appid is too long: 300 bytes (at most 256)");
  EXPECT_EQ(
      error_of(bind_register(form(std::string(kRegister) + "&region=" + std::string(65, 'r')))),
      "region is too long: 65 bytes (at most 64)");
  std::string many = std::string(kRegister);
  for (int i = 0; i < 32; ++i)
    many += "&addrs=http://b:" + std::to_string(i);
  EXPECT_EQ(error_of(bind_register(form(many))), "too many addrs: 33 (at most 32)");
  EXPECT_EQ(
      error_of(bind_register(form(std::string(kRegister) + "&addrs=" + std::string(513, 'x')))),
      "an addr is too long: 513 bytes (at most 512)");
  std::string md = "{";
  for (int i = 0; i < 65; ++i)
    md += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"v\"";
  md += "}";
  EXPECT_EQ(error_of(bind_register(form(std::string(kRegister) + "&metadata=" + md))),
            "metadata has 65 keys (at most 64)");
  const std::string big = "{\"k\":\"" + std::string(9000, 'v') + "\"}";
  EXPECT_EQ(error_of(bind_register(form(std::string(kRegister) + "&metadata=" + big))),
            "metadata is too large: 9001 bytes of keys and values (at most 8192)");
  EXPECT_EQ(
      error_of(bind_register(form(std::string(kRegister) + "&hostname=" + std::string(256, 'h')))),
      "")
      << "the limit itself is allowed";
}

TEST(BindOthers, NamesAreLimitedOnEveryRoute) {
  const std::string long_appid(257, 'a');
  EXPECT_EQ(error_of(bind_instance(form("zone=z&env=e&hostname=h&appid=" + long_appid), true)),
            "appid is too long: 257 bytes (at most 256)");
  EXPECT_EQ(error_of(bind_fetch(form("env=e&status=1&appid=" + long_appid), false)),
            "appid is too long: 257 bytes (at most 256)");
  EXPECT_EQ(
      error_of(bind_poll(form("env=e&hostname=h&latest_timestamp=0&appid=" + long_appid), false)),
      "appid is too long: 257 bytes (at most 256)");
  std::string set = "zone=z&env=e&appid=a";
  for (int i = 0; i < 1001; ++i)
    set += "&hostname=h" + std::to_string(i);
  EXPECT_EQ(error_of(bind_set(form(set))), "too many hostnames: 1001 (at most 1000)");
}

// Quoted input in messages stays valid UTF-8 even when cut.
TEST(BindRegister, QuotedValuesAreCutOnCharacters) {
  std::string dirty = "&dirty_timestamp=x";
  for (int i = 0; i < 40; ++i)
    dirty += "%C3%A9";  // é, 2 bytes each: 64 bytes would cut one in half
  const std::string err = error_of(bind_register(form(std::string(kRegister) + dirty)));
  EXPECT_EQ(err.rfind("dirty_timestamp must be an integer", 0), 0u) << err;
  EXPECT_TRUE(valid_utf8(err)) << err;
}

}  // namespace
}  // namespace muster::api
