// http_sd against a real HTTP server on loopback: the cases of Prometheus's
// discovery/http/http_test.go.
#include "sd/providers/http_provider.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <mutex>

#include "common/http_exchange.h"
#include "http/server.h"
#include "provider_harness.h"

namespace muster::sd {
namespace {

using namespace std::chrono_literals;

// A server whose one answer the test sets; it records the request headers it saw.
class SdServer {
 public:
  SdServer() {
    router_.add("GET", "/sd", [this](const http::Request& r) -> http::Outcome {
      std::lock_guard lock(mu_);
      ++requests_;
      interval_header_ = std::string(r.header("X-Prometheus-Refresh-Interval-Seconds"));
      accept_header_ = std::string(r.header("Accept"));
      http::Response out;
      out.status = status_;
      out.content_type = content_type_;
      out.body = body_;
      return out;
    });
    http::ServerOptions o;
    o.port = 0;
    o.threads = 1;
    server_ = std::make_unique<http::Server>(o, router_);
    server_->start();
  }
  ~SdServer() { server_->shutdown(); }
  void answer(int status, std::string body,
              std::string_view content_type = "application/json; charset=utf-8") {
    std::lock_guard lock(mu_);
    status_ = status;
    body_ = std::move(body);
    content_type_ = content_type;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/sd"; }
  int requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::string interval_header() {
    std::lock_guard lock(mu_);
    return interval_header_;
  }
  std::string accept_header() {
    std::lock_guard lock(mu_);
    return accept_header_;
  }

 private:
  std::mutex mu_;
  int status_ = 200, requests_ = 0;
  std::string body_ = "[]", interval_header_, accept_header_;
  std::string_view content_type_ = "application/json; charset=utf-8";
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

struct HttpProviderTest : ::testing::Test {
  void start(milliseconds interval = 1h) {
    provider_ = make_provider(HttpConfig{server_.url(), interval, {}}, h_.context());
    provider_->start(h_.sender());
  }
  void TearDown() override {
    if (provider_) provider_->stop();
  }
  SdServer server_;
  testing::Harness h_;
  std::unique_ptr<Provider> provider_;
};

TEST_F(HttpProviderTest, ValidRefreshHasUrlLabelAndSources) {
  server_.answer(200, R"([{"labels":{"k":"v"},"targets":["127.0.0.1"]}])");
  start(std::chrono::seconds(15));
  ASSERT_TRUE(h_.run_until([&] { return !h_.batches.empty(); }));
  ASSERT_EQ(h_.merged.size(), 1u);
  const auto& g = h_.merged.at(server_.url() + ":0");
  EXPECT_EQ(g.labels.at("__meta_url"), server_.url());
  EXPECT_EQ(g.labels.at("k"), "v");
  EXPECT_EQ(g.targets[0].at("__address__"), "127.0.0.1");
  EXPECT_EQ(server_.interval_header(), "15");
  EXPECT_EQ(server_.accept_header(), "application/json");
  EXPECT_EQ(h_.stats->failures.value(), 0u);
}

TEST_F(HttpProviderTest, InvalidCodeIsAFailureAndSendsNothing) {
  server_.answer(400, "[]");
  start();
  ASSERT_TRUE(h_.run_until([&] { return h_.stats->failures.value() == 1; }));
  EXPECT_TRUE(h_.batches.empty());
}

TEST_F(HttpProviderTest, InvalidFormatIsAFailure) {
  server_.answer(200, R"({})");
  start();
  ASSERT_TRUE(h_.run_until([&] { return h_.stats->failures.value() == 1; }));
  EXPECT_TRUE(h_.batches.empty());
}

TEST_F(HttpProviderTest, WrongContentTypeIsAFailure) {
  server_.answer(200, "[]", "text/plain; charset=utf-8");
  start();
  ASSERT_TRUE(h_.run_until([&] { return h_.stats->failures.value() == 1; }));
  EXPECT_TRUE(h_.batches.empty());
}

// The answer is read in pieces as it arrives: a document of many pieces reads whole, with its
// labels shared, and one cut in the middle of a group is a failure that sends nothing.
TEST_F(HttpProviderTest, ALargeAnswerIsReadInPieces) {
  std::string doc = "[";
  for (int i = 0; i < 20000; ++i)
    doc += std::string(i ? "," : "") + R"({"targets":["127.0.0.)" + std::to_string(i % 250) + ":" +
           std::to_string(1000 + i) + R"("],"labels":{"team":"t)" + std::to_string(i % 3) +
           R"("}})";
  doc += "]";
  ASSERT_GT(doc.size(), 10u * 64 * 1024);
  server_.answer(200, doc);
  start();
  ASSERT_TRUE(h_.run_until([&] { return !h_.batches.empty(); }));
  ASSERT_EQ(h_.merged.size(), 20000u);
  const auto& last = h_.merged.at(server_.url() + ":19999");
  EXPECT_EQ(last.targets[0].at("__address__"), "127.0.0.249:20999");
  EXPECT_EQ(last.labels.at("team"), "t1");
  EXPECT_EQ(last.labels.identity(), h_.merged.at(server_.url() + ":1").labels.identity());
  EXPECT_EQ(h_.stats->failures.value(), 0u);
}

// What the provider stands on: a streamed exchange hands the body over in pieces (never whole),
// and a header the sink refuses leaves the body unread.
TEST(HttpExchangeStreamed, TheBodyComesInPiecesAndARefusedHeaderReadsNone) {
  SdServer server;
  const std::string body(1'000'000, 'x');
  for (const int status : {200, 500}) {
    server.answer(status, body);
    boost::asio::io_context io;
    size_t pieces = 0, bytes = 0, largest = 0;
    HttpBodySink sink;
    sink.header = [](const HttpResponse::header_type& h) { return h.result_int() == 200; };
    sink.body = [&](std::string_view piece) {
      ++pieces;
      bytes += piece.size();
      largest = std::max(largest, piece.size());
      return true;
    };
    std::optional<HttpResponse> answer;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          boost::asio::ip::tcp::socket socket(io);
          const std::string addr = server.url().substr(7, server.url().size() - 7 - 3);
          answer = co_await http_exchange(socket, addr, http_request_bytes("GET", "/sd", addr), 10s,
                                          256ull * 1024 * 1024, nullptr, nullptr, &sink);
        },
        boost::asio::detached);
    io.run_for(10s);
    ASSERT_TRUE(answer) << status;
    EXPECT_EQ(answer->result_int(), status);
    EXPECT_TRUE(answer->body().empty());
    if (status == 200) {
      EXPECT_EQ(bytes, body.size());
      EXPECT_GT(pieces, 1u);
      EXPECT_LE(largest, 64u * 1024);
    } else {
      EXPECT_EQ(pieces, 0u) << "a refused header: the body is not read";
    }
  }
}

TEST_F(HttpProviderTest, AnAnswerCutShortIsAFailure) {
  server_.answer(200, R"([{"targets":["a:1"]},{"targets":["b:)");
  start();
  ASSERT_TRUE(h_.run_until([&] { return h_.stats->failures.value() == 1; }));
  EXPECT_TRUE(h_.batches.empty());
}

TEST(HttpSdContentType, MatchesPrometheusRegex) {
  for (const char* ok : {"application/json", "application/json;charset=utf-8",
                         "application/json;charset=\"utf-8\"", "application/json; charset=utf-8",
                         "Application/JSON;Charset=\"utf-8\"", " application/json "})
    EXPECT_TRUE(http_sd_content_type_ok(ok)) << ok;
  for (const char* bad : {"application/json;", "application/json;charset=UTF-9",
                          "application/jsonl", "text/plain; charset=utf-8", ""})
    EXPECT_FALSE(http_sd_content_type_ok(bad)) << bad;
}

TEST_F(HttpProviderTest, SourceDisappearedEmptiesLostIndexes) {
  server_.answer(200, R"([{"targets":["a:1"]},{"targets":["b:1"]}])");
  start(200ms);
  ASSERT_TRUE(h_.run_until([&] { return h_.merged.size() == 2; }));
  server_.answer(200, R"([{"targets":["c:1"]}])");
  ASSERT_TRUE(h_.run_until([&] { return h_.merged.size() == 1; }));
  EXPECT_EQ(h_.addresses(), (std::vector<std::string>{"c:1"}));
  server_.answer(200, "[]");
  ASSERT_TRUE(h_.run_until([&] { return h_.merged.empty(); }));
  server_.answer(200, R"([{"targets":["d:1"]},{"targets":["e:1"]}])");
  ASSERT_TRUE(h_.run_until([&] { return h_.merged.size() == 2; }));
}

TEST_F(HttpProviderTest, FailureKeepsTheLastTargets) {
  server_.answer(200, R"([{"targets":["a:1"]}])");
  start(200ms);
  ASSERT_TRUE(h_.run_until([&] { return h_.merged.size() == 1; }));
  server_.answer(500, "oops", "text/plain");
  ASSERT_TRUE(h_.run_until([&] { return h_.stats->failures.value() >= 2; }));
  EXPECT_EQ(h_.addresses(), (std::vector<std::string>{"a:1"}));
}

TEST_F(HttpProviderTest, UnreachableServerIsAFailure) {
  provider_ = make_provider(HttpConfig{"http://127.0.0.1:1/sd", 1h, {}}, h_.context());
  provider_->start(h_.sender());
  ASSERT_TRUE(h_.run_until([&] { return h_.stats->failures.value() == 1; }));
  EXPECT_TRUE(h_.batches.empty());
}

}  // namespace
}  // namespace muster::sd
