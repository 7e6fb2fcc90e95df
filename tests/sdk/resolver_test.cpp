// The Resolver against real nodes (issue 4): one long poll serves every subscription, changes
// reach the callback, a dead node makes it move to another, the last good list survives errors
// and (by choice) empty answers; the filters and the deterministic subset as pure functions; Retry
// over a balancer.
#include "muster/resolver.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "muster/retry.h"
#include "sdk/real_node.h"

namespace muster {
namespace {

using testing::eventually;
using testing::free_port;
using testing::http;
using testing::RealNode;

ClientOptions options_for(std::vector<std::string> nodes) {
  return testing::options_for(std::move(nodes), "caller-1");
}

std::string register_on(uint16_t port, const std::string& appid, const std::string& hostname,
                        const std::string& extra = "") {
  return http(port, "POST", "/discovery/register",
              "region=sh&zone=sh001&env=dev&status=1&appid=" + appid + "&hostname=" + hostname +
                  "&addrs=http%3A%2F%2F127.0.0.1%3A9000&addrs=grpc%3A%2F%2F127.0.0.1%3A9001" +
                  extra);
}

std::string cancel_on(uint16_t port, const std::string& appid, const std::string& hostname) {
  return http(port, "POST", "/discovery/cancel",
              "zone=sh001&env=dev&appid=" + appid + "&hostname=" + hostname);
}

std::set<std::string> hostnames(const std::vector<Instance>& list) {
  std::set<std::string> out;
  for (const auto& i : list)
    out.insert(i.hostname);
  return out;
}

// What callbacks saw, from the client's thread.
struct Seen {
  std::mutex mu;
  std::vector<std::set<std::string>> lists;
  InstancesCallback callback() {
    return [this](const std::vector<Instance>& l) {
      std::lock_guard lock(mu);
      lists.push_back(hostnames(l));
    };
  }
  std::optional<std::set<std::string>> last() {
    std::lock_guard lock(mu);
    if (lists.empty()) return std::nullopt;
    return lists.back();
  }
  size_t count() {
    std::lock_guard lock(mu);
    return lists.size();
  }
};

TEST(ResolverTest, FollowsChangesOfSeveralAppsInOnePoll) {
  RealNode node(free_port());
  ASSERT_NE(register_on(node.port(), "a", "a1").find("\"code\":0"), std::string::npos);
  Client client(options_for({node.addr()}));
  Resolver resolver(client);
  Seen seen_a, seen_b;
  resolver.subscribe("a", {}, seen_a.callback());
  resolver.subscribe("b", {}, seen_b.callback());
  ASSERT_TRUE(resolver.wait_ready("a", std::chrono::seconds(5)));
  EXPECT_EQ(hostnames(*resolver.instances("a")), (std::set<std::string>{"a1"}));
  const auto& first = resolver.instances("a")->front();
  EXPECT_EQ(first.addrs,
            (std::vector<std::string>{"http://127.0.0.1:9000", "grpc://127.0.0.1:9001"}));
  EXPECT_EQ(first.zone, "sh001");
  register_on(node.port(), "b", "b1");
  register_on(node.port(), "a", "a2");
  EXPECT_TRUE(eventually([&] { return seen_b.last() == std::set<std::string>{"b1"}; }));
  EXPECT_TRUE(eventually([&] { return seen_a.last() == std::set<std::string>{"a1", "a2"}; }));
  // One poll serves both: the node has one parked request from this client.
  EXPECT_TRUE(eventually([&] {
    return http(node.port(), "GET", "/metrics").find("muster_parked_polls 1\n") !=
           std::string::npos;
  }));
}

TEST(ResolverTest, KeepsTheLastListWhenTheAppVanishesUnlessToldNotTo) {
  RealNode node(free_port());
  register_on(node.port(), "a", "a1");
  Client client(options_for({node.addr()}));
  Resolver keeping(client), emptying(client);
  Seen kept, emptied;
  keeping.subscribe("a", {}, kept.callback());
  WatchOptions no_keep;
  no_keep.keep_last_on_empty = false;
  emptying.subscribe("a", no_keep, emptied.callback());
  ASSERT_TRUE(eventually([&] { return emptied.last() == std::set<std::string>{"a1"}; }));
  cancel_on(node.port(), "a", "a1");
  EXPECT_TRUE(eventually([&] { return emptied.last() == std::set<std::string>{}; }));
  EXPECT_EQ(hostnames(*keeping.instances("a")), (std::set<std::string>{"a1"}));
  EXPECT_EQ(kept.count(), 1u);
  // It comes back: both hear it.
  register_on(node.port(), "a", "a3");
  EXPECT_TRUE(eventually([&] { return kept.last() == std::set<std::string>{"a3"}; }));
  EXPECT_TRUE(eventually([&] { return emptied.last() == std::set<std::string>{"a3"}; }));
}

TEST(ResolverTest, MovesToAnotherNodeWhenItsNodeDiesAndKeepsTheListWhenAllAreGone) {
  // Two separate nodes with different lists, so the list tells which node the resolver polls.
  auto a = std::make_unique<RealNode>(free_port());
  auto b = std::make_unique<RealNode>(free_port());
  register_on(a->port(), "svc", "h1");
  register_on(b->port(), "svc", "h1");
  register_on(b->port(), "svc", "h2");
  Client client(options_for({a->addr(), b->addr()}));
  Resolver resolver(client);
  Seen seen;
  resolver.subscribe("svc", {}, seen.callback());
  ASSERT_TRUE(eventually([&] { return seen.count() > 0; }));
  const bool on_a = seen.last()->size() == 1;
  const std::set<std::string> other_list =
      on_a ? std::set<std::string>{"h1", "h2"} : std::set<std::string>{"h1"};
  (on_a ? a : b)->stop(SIGKILL);
  EXPECT_TRUE(eventually([&] { return seen.last() == other_list; }, std::chrono::seconds(5)));
  (on_a ? b : a)->stop(SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(hostnames(*resolver.instances("svc")), other_list) << "errors keep the last list";
}

TEST(ResolverTest, MovesToAnotherNodePeriodicallyAndAsksItAfresh) {
  // Separate nodes with different lists: after each move the new node's list arrives, although
  // nothing changed on either (timestamps are per node, so the move polls from 0).
  RealNode a(free_port()), b(free_port());
  register_on(a.port(), "svc", "on-a");
  register_on(b.port(), "svc", "on-b");
  auto options = options_for({a.addr(), b.addr()});
  options.move_every = std::chrono::milliseconds(200);
  options.poll_hold = std::chrono::milliseconds(300);
  Client client(options);
  Resolver resolver(client);
  Seen seen;
  resolver.subscribe("svc", {}, seen.callback());
  EXPECT_TRUE(eventually([&] { return seen.last() == std::set<std::string>{"on-a"}; }));
  EXPECT_TRUE(eventually([&] { return seen.last() == std::set<std::string>{"on-b"}; }));
  EXPECT_TRUE(eventually([&] { return seen.last() == std::set<std::string>{"on-a"}; }));
}

TEST(ResolverTest, NoCallbackAfterUnsubscribeOrDestruction) {
  RealNode node(free_port());
  register_on(node.port(), "a", "a1");
  Client client(options_for({node.addr()}));
  Seen seen;
  {
    Resolver resolver(client);
    resolver.subscribe("a", {}, seen.callback());
    ASSERT_TRUE(eventually([&] { return seen.count() == 1; }));
    resolver.unsubscribe("a");
    EXPECT_TRUE(resolver.instances("a")->empty());
    resolver.subscribe("a", {}, seen.callback());
    ASSERT_TRUE(eventually([&] { return seen.count() == 2; })) << "a new subscriber hears at once";
  }
  register_on(node.port(), "a", "a2");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(seen.count(), 2u);
}

Instance make(const std::string& host, const std::string& zone,
              std::vector<std::string> addrs = {"http://h:1"},
              std::map<std::string, std::string> md = {}, int status = 1) {
  Instance i;
  i.hostname = host;
  i.zone = zone;
  i.addrs = std::move(addrs);
  i.metadata = std::move(md);
  i.status = status;
  return i;
}

TEST(FilterTest, ZoneStatusSchemeAndMetadata) {
  const std::vector<Instance> all = {
      make("h1", "z1", {"http://a:1", "grpc://a:2"}, {{"cluster", "c1"}}),
      make("h2", "z2", {"grpc://b:2"}, {{"cluster", "c1"}}),
      make("h3", "z1", {"http://c:1"}, {{"cluster", "c2"}}),
      make("h4", "z1", {"grpc://d:2"}, {{"cluster", "c1"}}, 2),
  };
  Filter f;
  EXPECT_EQ(hostnames(filter_instances(all, f, "me")), (std::set<std::string>{"h1", "h2", "h3"}));
  f.zone = "z1";
  EXPECT_EQ(hostnames(filter_instances(all, f, "me")), (std::set<std::string>{"h1", "h3"}));
  f.up_only = false;
  EXPECT_EQ(hostnames(filter_instances(all, f, "me")), (std::set<std::string>{"h1", "h3", "h4"}));
  f.schemes = {"grpc"};
  const auto grpc = filter_instances(all, f, "me");
  EXPECT_EQ(hostnames(grpc), (std::set<std::string>{"h1", "h4"}));
  EXPECT_EQ(grpc.front().addrs, std::vector<std::string>{"grpc://a:2"}) << "only grpc addrs left";
  f.metadata = {{"cluster", "c2"}};
  EXPECT_TRUE(filter_instances(all, f, "me").empty());
  f.schemes.clear();
  EXPECT_EQ(hostnames(filter_instances(all, f, "me")), (std::set<std::string>{"h3"}));
}

TEST(FilterTest, SubsetIsDeterministicAndSpreadsClientsEvenly) {
  std::vector<Instance> all;
  for (int i = 0; i < 20; ++i)
    all.push_back(make("h" + std::to_string(i), "z1"));
  const auto mine = subset(all, 5, "client-7");
  ASSERT_EQ(mine.size(), 5u);
  auto reversed = all;
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(hostnames(subset(reversed, 5, "client-7")), hostnames(mine)) << "order-independent";
  EXPECT_EQ(hostnames(mine).size(), 5u) << "no instance twice";
  EXPECT_EQ(subset(all, 50, "client-7").size(), 20u);
  // 2,000 clients, subsets of 5 of 20: each instance gets about 500 clients.
  std::map<std::string, int> load;
  for (int c = 0; c < 2000; ++c)
    for (const auto& i : subset(all, 5, "client-" + std::to_string(c)))
      ++load[i.hostname];
  ASSERT_EQ(load.size(), 20u);
  for (const auto& [host, n] : load) {
    EXPECT_GT(n, 400) << host;
    EXPECT_LT(n, 600) << host;
  }
}

TEST(RetryTest, EachAttemptGoesToAnotherInstance) {
  Balancer balancer(Policy::kRandom);
  balancer.update({make("h1", "z"), make("h2", "z"), make("h3", "z")});
  std::vector<std::string> called;
  RetryOptions options;
  options.max_attempts = 3;
  const auto r = retry(balancer, options, [&](const Instance& i, auto) {
    called.push_back(i.hostname);
    return called.size() < 3 ? std::string("refused") : std::string();
  });
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(std::set<std::string>(called.begin(), called.end()).size(), 3u) << "all different";

  called.clear();
  const auto failed = retry(balancer, options, [&](const Instance& i, auto) {
    called.push_back(i.hostname);
    return std::string("refused");
  });
  EXPECT_FALSE(failed.ok);
  EXPECT_EQ(failed.attempts, 3);
  EXPECT_NE(failed.error.find(": refused"), std::string::npos) << failed.error;
}

TEST(RetryTest, ConsistentHashingRetriesElsewhereAndTheDeadlineEndsIt) {
  Balancer balancer(Policy::kConsistentHash);
  balancer.update({make("h1", "z"), make("h2", "z"), make("h3", "z")});
  std::vector<std::string> called;
  RetryOptions options;
  options.max_attempts = 2;
  retry(
      balancer, options,
      [&](const Instance& i, auto) {
        called.push_back(i.hostname);
        return std::string("down");
      },
      "user-42");
  ASSERT_EQ(called.size(), 2u);
  EXPECT_NE(called[0], called[1]);

  options.max_attempts = 100;
  options.deadline = std::chrono::milliseconds(50);
  options.backoff = std::chrono::milliseconds(10);
  const auto r = retry(balancer, options, [&](const Instance&, auto) { return std::string("x"); });
  EXPECT_FALSE(r.ok);
  EXPECT_LT(r.attempts, 10);

  Balancer empty;
  EXPECT_EQ(retry(empty, options, [](const Instance&, auto) { return std::string(); }).error,
            "no instance to call");
}

}  // namespace
}  // namespace muster
