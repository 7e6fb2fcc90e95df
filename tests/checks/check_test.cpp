// A check's model (checks/check.h): what a registration's Check and Checks become (Consul's IDs,
// names, starting status and its 400 texts), the state kept across a re-registration, the stored
// form read back, the aggregate status and the output kept.
#include "checks/check.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace muster::checks {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::variant<std::vector<Check>, std::string> parse(std::string_view body) {
  static json::value doc;
  doc = json::parse(body);
  const json::object& o = doc.get_object();
  // As the registration reads them: null is absent.
  const json::value* check = o.if_contains("Check");
  const json::value* checks = o.if_contains("Checks");
  if (check != nullptr && check->is_null()) check = nullptr;
  if (checks != nullptr && checks->is_null()) checks = nullptr;
  return parse_registration_checks(check, checks, "web1", "web", 1000);
}

std::string error_of(std::string_view body) {
  auto r = parse(body);
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "(no error)";
}

TEST(CheckTest, RegistrationChecksGetConsulsIdsNamesAndStartCritical) {
  auto one = std::get<std::vector<Check>>(parse(R"({"Check":{"TTL":"10s"}})"));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].id, "service:web1");
  EXPECT_EQ(one[0].name, "Service 'web' check");
  EXPECT_EQ(one[0].type, Type::kTtl);
  EXPECT_EQ(one[0].ttl, 10s);
  EXPECT_EQ(one[0].status, Status::kCritical) << "a new check starts critical";
  EXPECT_EQ(one[0].since_ms, 1000);

  auto many = std::get<std::vector<Check>>(parse(
      R"({"Check":{"ttl":"5s","status":"passing"},
          "Checks":[{"HTTP":"http://127.0.0.1:1/h","Interval":1000000000,"Timeout":"2s",
                     "Header":{"X-A":["1","2"]},"Method":"POST","Body":"b"},
                    {"CheckID":"db","Name":"DB","tcp":"127.0.0.1:5432","interval":"1m30s",
                     "deregister_critical_service_after":"90s"}]})"));
  ASSERT_EQ(many.size(), 3u);
  EXPECT_EQ(many[0].id, "service:web1:1");
  EXPECT_EQ(many[0].status, Status::kPassing) << "Status given";
  EXPECT_EQ(many[1].id, "service:web1:2");
  EXPECT_EQ(many[1].type, Type::kHttp);
  EXPECT_EQ(many[1].interval, 1s) << "a number is nanoseconds";
  EXPECT_EQ(many[1].timeout, 2s);
  ASSERT_EQ(many[1].header.size(), 1u);
  EXPECT_EQ(many[1].header[0].second, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(many[2].id, "db");
  EXPECT_EQ(many[2].name, "DB");
  EXPECT_EQ(many[2].type, Type::kTcp);
  EXPECT_EQ(many[2].interval, 90s);
  EXPECT_EQ(many[2].deregister_after, 90s);
  EXPECT_TRUE(std::get<std::vector<Check>>(parse(R"({"Check":null,"Checks":null})")).empty());
}

TEST(CheckTest, BadChecksGetConsulsWords) {
  EXPECT_EQ(error_of(R"({"Check":{"TTL":"10s","Interval":"10s"}})"),
            "Invalid check: Interval and TTL cannot both be specified");
  EXPECT_EQ(error_of(R"({"Check":{"HTTP":"http://x/"}})"),
            "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService "
            "checks");
  EXPECT_EQ(error_of(R"({"Check":{}})"), "Invalid check: TTL must be > 0 for TTL checks");
  EXPECT_EQ(error_of(R"({"Check":{"TTL":"1s","Status":"up"}})"),
            "Status for checks must 'passing', 'warning', 'critical'");
  EXPECT_EQ(error_of(R"({"Check":{"TTL":"soon"}})"),
            "Request decode failed: TTL must be a duration");
  EXPECT_EQ(error_of(R"({"Check":{"Args":["/bin/true"],"Interval":"1s"}})"),
            "Invalid check: muster runs TTL, HTTP and TCP checks only, not Args");
  EXPECT_EQ(error_of(R"({"Check":{"HTTP":"https://x/","Interval":"1s"}})"),
            "Invalid check: muster runs HTTP checks on http:// URLs only");
  EXPECT_EQ(error_of(R"({"Checks":{"TTL":"1s"}})"), "Request decode failed: Checks must be a list");
  EXPECT_EQ(error_of(R"({"Checks":[1]})"), "Request decode failed: a check must be an object");
  std::string nine = R"({"Checks":[)";
  for (int i = 0; i < 9; ++i)
    nine += std::string(i ? "," : "") + R"({"TTL":"1s"})";
  EXPECT_EQ(error_of(nine + "]}"), "Invalid check: at most 8 checks per service");
}

// Issue 27.7: a check's request is sent as written, so nothing in it may end a header line or
// the request line, and the method is one an HTTP check means.
TEST(CheckTest, RequestsThatCouldSmuggleAreRefused) {
  const auto http = [](std::string_view extra) {
    return error_of(R"({"Check":{"HTTP":"http://127.0.0.1:9/h","Interval":"1s",)" +
                    std::string(extra) + "}}");
  };
  const auto quoted = [](std::string_view text) {
    return json::serialize(json::value(json::string(text)));
  };
  EXPECT_EQ(http(R"("Method":"POST")"), "(no error)");
  EXPECT_EQ(http(R"("Method":"PATCH","Header":{"Authorization":["Bearer x\ty"]})"), "(no error)");
  const std::string_view methods[] = {"CONNECT", "TRACE", "get", "GET / HTTP/1.1\r\nX: y", "G ET"};
  for (std::string_view method : methods) {
    EXPECT_EQ(http(R"("Method":)" + quoted(method)),
              "Invalid check: Method must be one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH")
        << method;
  }
  EXPECT_EQ(http(R"("Header":{"X-A":["ok","a\r\nGET /evil HTTP/1.1"]})"),
            "Invalid check: Header X-A has a control character (CR, LF, NUL...)");
  EXPECT_EQ(http(R"("Header":{"X-A":["\u0000"]})"),
            "Invalid check: Header X-A has a control character (CR, LF, NUL...)");
  const std::string_view names[] = {"Bad Name", "X:Y", "", "X\r\nY"};
  for (std::string_view name : names) {
    EXPECT_EQ(http(R"("Header":{)" + quoted(name) + R"(:["v"]})"),
              "Invalid check: a Header name is not an HTTP token (letters, digits and "
              "!#$%&'*+-.^_`|~, at most 256)")
        << name;
  }
  std::string many = R"("Header":{"X":[)";
  for (int i = 0; i < 33; ++i)
    many += std::string(i ? "," : "") + R"("v")";
  EXPECT_EQ(http(many + "]}"), "Invalid check: at most 32 Header values");
  EXPECT_EQ(error_of(R"({"Check":{"HTTP":"http://h/a b","Interval":"1s"}})"),
            "Invalid check: HTTP must be an http:// URL with a host");
  EXPECT_EQ(error_of(R"({"Check":{"HTTP":"http:///nohost","Interval":"1s"}})"),
            "Invalid check: HTTP must be an http:// URL with a host");
  EXPECT_EQ(error_of(R"({"Check":{"TCP":"h:1\r\n","Interval":"1s"}})"),
            "Invalid check: TCP must be host:port");
  // What came by another way (a peer, an older data directory) is judged the same at the probe.
  Check stored;
  stored.type = Type::kHttp;
  stored.http = "http://127.0.0.1:9/";
  stored.header = {{"X-A", {"a\\nb"}}};  // a backslash and an n: harmless
  EXPECT_EQ(request_problem(stored), "");
  stored.header = {{"X-A", {"a\r\nb"}}};
  EXPECT_EQ(request_problem(stored),
            "Invalid check: Header X-A has a control character (CR, LF, NUL...)");
}

// Issue 27.7: --consul-check-requests narrows what checks may make the node send: `get` keeps GET
// and HEAD without a body (and TCP), `none` only TTL checks. Checked at registration and at the
// probe (a check that came from a node allowing more).
TEST(CheckTest, AllowedRequestsNarrowWhatANodeSends) {
  EXPECT_EQ(parse_allowed_requests("any"), AllowedRequests::kAny);
  EXPECT_EQ(parse_allowed_requests("get"), AllowedRequests::kGetOnly);
  EXPECT_EQ(parse_allowed_requests("none"), AllowedRequests::kNone);
  EXPECT_EQ(parse_allowed_requests("GET"), std::nullopt);
  Check ttl, get, head, post, get_with_body, tcp;
  get.type = head.type = post.type = get_with_body.type = Type::kHttp;
  head.method = "HEAD";
  post.method = "POST";
  get_with_body.body = "x";
  tcp.type = Type::kTcp;
  for (const Check* c : {&ttl, &get, &head, &post, &get_with_body, &tcp})
    EXPECT_EQ(allowed_problem(*c, AllowedRequests::kAny), "");
  for (const Check* c : {&ttl, &get, &head, &tcp})
    EXPECT_EQ(allowed_problem(*c, AllowedRequests::kGetOnly), "");
  for (const Check* c : {&post, &get_with_body})
    EXPECT_EQ(allowed_problem(*c, AllowedRequests::kGetOnly),
              "Invalid check: this node sends only GET and HEAD checks without a Body "
              "(--consul-check-requests=get)");
  EXPECT_EQ(allowed_problem(ttl, AllowedRequests::kNone), "");
  for (const Check* c : {&get, &head, &post, &get_with_body, &tcp})
    EXPECT_EQ(allowed_problem(*c, AllowedRequests::kNone),
              "Invalid check: this node runs TTL checks only (--consul-check-requests=none)");
}

// Issue 27.7: readers who are not peers see a check without the Header and Body its service gave
// it (credentials, often); everything else stays, the output included (as in Consul).
TEST(CheckTest, ReadersSeeChecksWithoutHeaderAndBody) {
  const std::string whole =
      R"([{"CheckID":"c1","Status":"passing","Output":"HTTP GET ok","Header":{"Authorization":)"
      R"(["Bearer s3cret"]},"Body":"token=s3cret","HTTP":"http://h/"},{"CheckID":"c2"}])";
  const std::string seen = checks_for_readers(whole);
  EXPECT_EQ(seen.find("s3cret"), std::string::npos) << seen;
  const json::value v = json::parse(seen);
  ASSERT_EQ(v.as_array().size(), 2u);
  EXPECT_EQ(v.as_array()[0].as_object().at("Output"), "HTTP GET ok");
  EXPECT_EQ(v.as_array()[0].as_object().at("HTTP"), "http://h/");
  EXPECT_EQ(checks_for_readers(R"([{"CheckID":"c1","Output":"x"}])"),
            R"([{"CheckID":"c1","Output":"x"}])")
      << "nothing to hide: the text as it is";
  EXPECT_EQ(checks_for_readers(R"({"Header":1})"), "[]");
  EXPECT_EQ(checks_for_readers(R"(["Header")"), "[]");
}

TEST(CheckTest, StateIsKeptByIdAndTheStoredFormReadsBack) {
  auto before = std::get<std::vector<Check>>(parse(R"({"Checks":[{"TTL":"1s"},{"TTL":"2s"}]})"));
  ASSERT_TRUE(update(before[1], Status::kWarning, "slow", 2000));
  EXPECT_FALSE(update(before[1], Status::kWarning, "slow", 3000)) << "nothing changed";
  auto after = std::get<std::vector<Check>>(parse(R"({"Checks":[{"TTL":"9s"},{"TTL":"2s"}]})"));
  keep_state(before, after);
  EXPECT_EQ(after[1].status, Status::kWarning);
  EXPECT_EQ(after[1].output, "slow");
  EXPECT_EQ(after[1].since_ms, 2000);
  EXPECT_EQ(after[0].ttl, 9s) << "the definition is the new one";

  before[0].header = {{"X-A", {"1"}}};
  before[0].notes = "n";
  size_t unreadable = 0;
  EXPECT_EQ(read_check_list(check_list_json(before), &unreadable), before);
  EXPECT_EQ(unreadable, 0u);
  const auto read =
      read_check_list(R"([{"CheckID":"a","Status":"passing"},{"Status":"x"},7])", &unreadable);
  ASSERT_EQ(read.size(), 1u) << "one bad entry does not lose the others";
  EXPECT_EQ(read[0].id, "a");
  EXPECT_EQ(unreadable, 2u);
  EXPECT_TRUE(read_check_list("not json", &unreadable).empty());
  EXPECT_EQ(unreadable, 3u);
}

TEST(CheckTest, AggregateIsTheWorstStatus) {
  std::vector<Check> list(2);
  EXPECT_EQ(aggregate({}), Status::kPassing);
  list[0].status = list[1].status = Status::kPassing;
  EXPECT_EQ(aggregate(list), Status::kPassing);
  list[1].status = Status::kWarning;
  EXPECT_EQ(aggregate(list), Status::kWarning);
  list[0].status = Status::kCritical;
  EXPECT_EQ(aggregate(list), Status::kCritical);
}

TEST(CheckTest, OutputIsCutOnACharacterAndMadeUtf8) {
  EXPECT_EQ(clean_output("ok"), "ok");
  EXPECT_EQ(clean_output("a\xff"
                         "b"),
            "a?b");
  EXPECT_EQ(clean_output("\xc3\xa9t\xc3\xa9"), "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(clean_output("ab\xc3\xa9", 3), "ab ... (captured 3 of 4 bytes)")
      << "the character the limit cuts is dropped";
  EXPECT_EQ(clean_output(std::string(600, 'x')),
            std::string(512, 'x') + " ... (captured 512 of 600 bytes)");
}

}  // namespace
}  // namespace muster::checks
