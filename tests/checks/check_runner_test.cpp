// The check runner (checks/check_runner.h) and the writes it makes (checks/check_writes.h), in
// process over a real registry: rendezvous ownership, HTTP and TCP probes against a real server
// on loopback judged as Consul judges them, TTL expiry and its reset by an unchanged pass,
// DeregisterCriticalServiceAfter, and the native status that follows the checks.
#include "checks/check_runner.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <thread>

#include "http/router.h"
#include "http/server.h"

namespace muster::checks {
namespace {

using namespace std::chrono_literals;

TEST(OwnerTest, OneOwnerPerCheckSpreadAndStableWhenANodeLeaves) {
  const std::vector<std::string> three = {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"};
  std::map<std::string, int> share;
  std::map<std::string, std::string> owner;
  for (int i = 0; i < 3000; ++i) {
    const std::string key = "dev/web/h" + std::to_string(i) + "/service:h" + std::to_string(i);
    owner[key] = owner_of(three, key);
    EXPECT_EQ(owner_of({three[2], three[0], three[1]}, key), owner[key]) << "order is irrelevant";
    ++share[owner[key]];
  }
  for (const auto& n : three)
    EXPECT_GT(share[n], 800) << n << " gets about a third";
  const std::vector<std::string> two = {three[0], three[2]};
  for (const auto& [key, was] : owner) {
    if (was != three[1]) {
      EXPECT_EQ(owner_of(two, key), was) << "only the leaver's checks move";
    }
  }
  EXPECT_EQ(owner_of({}, "k"), "");
}

// A registry, its write path and a runner over them, as one node alone.
template <class ClockType>
struct Node {
  explicit Node(std::chrono::nanoseconds reap_floor = 0s, size_t max_in_flight = 512) {
    registry.add_observer(&index, true);
    runner = std::make_unique<CheckRunner>(
        registry, index, check_writes, clock, nullptr,
        RunnerOptions{"z1", "127.0.0.1:7171", std::chrono::milliseconds(10), reap_floor,
                      max_in_flight});
  }
  void add(const std::vector<Check>& list) {
    registry::RegisterArgs a;
    a.zone = "z1";
    a.env = "dev";
    a.appid = "web";
    a.hostname = "h1";
    a.addrs = {"http://127.0.0.1:1"};
    a.lease = false;
    a.metadata = {{std::string(kChecksKey), check_list_json(list)}};
    a.status = instance_status(list);
    writes.register_instance(a, cluster::Origin::kClient);
  }
  std::vector<Check> checks() {
    std::vector<Check> out;
    registry.read_instance({"z1", "dev", "web", "h1"},
                           [&](const registry::Instance& i) { out = checks_of(i); });
    return out;
  }
  int status() {
    int s = 0;
    registry.read_instance({"z1", "dev", "web", "h1"},
                           [&](const registry::Instance& i) { s = i.status; });
    return s;
  }
  // Waits (up to 10 s) until the first check's status is `want`.
  bool wait_for(Status want) {
    for (int i = 0; i < 1000; ++i) {
      const auto list = checks();
      if (!list.empty() && list[0].status == want) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  ClockType clock;
  registry::Registry registry{clock, {}};
  cluster::Writes writes{registry};
  CheckIndex index{"z1"};
  CheckWrites check_writes{registry, writes, clock, index};
  std::unique_ptr<CheckRunner> runner;
  ~Node() {
    runner.reset();
    registry.remove_observer(&index);
  }
};

Check probe_check(Type type, std::string target) {
  Check c;
  c.id = "service:h1";
  c.name = "probe";
  c.type = type;
  (type == Type::kHttp ? c.http : c.tcp) = std::move(target);
  c.interval = 1s;
  c.timeout = 2s;
  return c;
}

TEST(CheckRunnerTest, HttpChecksFollowTheEndpointAndTheNativeStatusFollowsThem) {
  std::atomic<int> code{200};
  http::Router router;
  router.add("GET", "/health", [&](const http::Request& r) -> http::Outcome {
    EXPECT_EQ(r.header("user-agent"), "Consul Health Check");
    return http::Response::text(code.load(), "state " + std::to_string(code.load()));
  });
  http::ServerOptions o;
  o.port = 0;
  o.threads = 1;
  http::Server server(o, router);
  server.start();
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/health";

  Node<SystemClock> node;
  node.add({probe_check(Type::kHttp, url)});
  EXPECT_EQ(node.status(), registry::kStatusDown) << "a new check is critical";
  node.runner->start();
  ASSERT_TRUE(node.wait_for(Status::kPassing));
  EXPECT_EQ(node.checks()[0].output, "HTTP GET " + url + ": 200 OK Output: state 200");
  EXPECT_EQ(node.status(), registry::kStatusUp);
  code = 429;
  ASSERT_TRUE(node.wait_for(Status::kWarning));
  EXPECT_EQ(node.status(), registry::kStatusUp) << "warning is not down";
  code = 503;
  ASSERT_TRUE(node.wait_for(Status::kCritical));
  EXPECT_EQ(node.status(), registry::kStatusDown);
  EXPECT_GE(node.runner->probes(), 3u);
  EXPECT_EQ(node.runner->owned(), 1u);
  node.runner->stop();
  server.shutdown(100ms);
}

TEST(CheckRunnerTest, TcpChecksConnect) {
  http::Router router;
  http::ServerOptions o;
  o.port = 0;
  o.threads = 1;
  auto server = std::make_unique<http::Server>(o, router);
  server->start();
  const std::string addr = "127.0.0.1:" + std::to_string(server->port());
  Node<SystemClock> node;
  node.add({probe_check(Type::kTcp, addr)});
  node.runner->start();
  ASSERT_TRUE(node.wait_for(Status::kPassing));
  EXPECT_EQ(node.checks()[0].output, "TCP connect " + addr + ": Success");
  server->shutdown(100ms);
  server.reset();
  ASSERT_TRUE(node.wait_for(Status::kCritical)) << "nothing listens any more";
  EXPECT_TRUE(node.checks()[0].output.starts_with("dial tcp " + addr + ": "))
      << node.checks()[0].output;
}

// Issue 27.6: probes to a port that accepts nothing hold a descriptor each until their timeout. No
// more than the budget are out at once, the longest waiting go first, and a Timeout of ten
// minutes is cut to the interval.
TEST(CheckRunnerTest, ProbesStayWithinTheirBudgetAndTimeoutsWithinTheInterval) {
  const int silent = ::socket(AF_INET, SOCK_STREAM, 0);  // listens, never accepts nor answers
  ASSERT_GE(silent, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof at;
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&at), len), 0);
  ASSERT_EQ(::listen(silent, 128), 0);
  ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&at), &len), 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(at.sin_port)) + "/health";
  Node<SystemClock> node(0s, /*max_in_flight=*/2);
  std::vector<Check> list;
  for (int i = 0; i < 8; ++i) {
    Check c = probe_check(Type::kHttp, url);
    c.id = "c" + std::to_string(i);
    c.timeout = 10min;
    list.push_back(c);
  }
  node.add(list);
  node.runner->start();
  size_t most = 0;
  for (int i = 0; i < 600 && node.runner->probes() < 12; ++i) {  // 6 s at most
    most = std::max(most, node.runner->in_flight());
    std::this_thread::sleep_for(10ms);
  }
  node.runner->stop();
  ::close(silent);
  EXPECT_LE(most, 2u);
  EXPECT_GE(most, 1u);
  EXPECT_GE(node.runner->probes(), 12u) << "a probe lasts its interval (1 s), not 10 minutes";
  EXPECT_GT(node.runner->deferred(), 0u);
  // A new check's output is empty until it ran; one that waited three intervals says why.
  for (const Check& c : node.checks())
    EXPECT_TRUE(c.output.starts_with("HTTP GET " + url) ||
                c.output.starts_with("check not run: 2 probes already in flight"))
        << c.id << ": " << c.output;
}

TEST(CheckRunnerTest, TtlChecksExpireUnlessPassedAndAnUnchangedPassIsARenew) {
  Node<FakeClock> node;
  Check ttl;
  ttl.id = "service:h1";
  ttl.type = Type::kTtl;
  ttl.ttl = 10s;
  node.add({ttl});
  const cluster::InstanceId id{"z1", "dev", "web", "h1"};
  EXPECT_EQ(node.check_writes.update(id, "service:h1", Status::kPassing, "fine", true),
            UpdateResult::kChanged);
  EXPECT_EQ(node.status(), registry::kStatusUp);
  node.runner->start();
  node.clock.advance(8s);
  EXPECT_EQ(node.check_writes.update(id, "service:h1", Status::kPassing, "fine", true),
            UpdateResult::kUnchanged)
      << "a renew, not a write";
  node.clock.advance(8s);  // 16 s after the change, 8 after the renew
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(node.checks()[0].status, Status::kPassing) << "the renew restarted the timer";
  node.clock.advance(3s);
  ASSERT_TRUE(node.wait_for(Status::kCritical));
  EXPECT_EQ(node.checks()[0].output, "TTL expired (last output before timeout follows): fine");
  EXPECT_EQ(node.status(), registry::kStatusDown);
  EXPECT_EQ(node.check_writes.update(id, "nope", Status::kPassing, "", true),
            UpdateResult::kNotFound);
  ASSERT_TRUE(node.check_writes.find("dev", "service:h1"));
  EXPECT_EQ(node.check_writes.find("dev", "service:h1")->instance, id);
  EXPECT_FALSE(node.check_writes.find("prod", "service:h1"));
}

TEST(CheckRunnerTest, ACheckCriticalForLongerThanDeregisterAfterRemovesItsInstance) {
  Node<FakeClock> node(30s);  // the floor raises 10 s to 30 s
  Check ttl;
  ttl.id = "service:h1";
  ttl.type = Type::kTtl;
  ttl.ttl = 1h;
  ttl.deregister_after = 10s;
  ttl.since_ms = node.clock.wall_ns() / 1'000'000;
  node.add({ttl});
  node.runner->start();
  node.clock.advance(20s);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(node.checks().size(), 1u) << "20 s is under the floor";
  node.clock.advance(11s);
  for (int i = 0; i < 500 && !node.checks().empty(); ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(node.checks().empty()) << "critical since registration counts";
}

}  // namespace
}  // namespace muster::checks
