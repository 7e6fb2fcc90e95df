// Parking and waking of polls (docs/decisions.md §4) at the registry level.
#include "registry/registry_fixture.h"

namespace muster::registry::testing {
namespace {

// Keeps what the registry hands over, as PollCall does.
class CountingWaiter final : public PollWaiter {
 public:
  void wake(PollAnswer answer) override {
    ++wakes;
    last = std::move(answer);
  }
  // The answer of the last wake, taken.
  std::optional<PollAnswer> take() { return std::exchange(last, std::nullopt); }
  int wakes = 0;
  std::optional<PollAnswer> last;
};

class NameRenderer final : public PollRenderer {
 public:
  std::string render(const App& app, std::string_view zone) const override {
    ++renders;
    return app.appid + "@" + std::string(zone);
  }
  mutable int renders = 0;
};

class PollTest : public RegistryTest {
 protected:
  ParkedPoll make(std::vector<std::string> appids, std::vector<int64_t> latest,
                  std::string zone = "", bool single = false) {
    ParkedPoll p;
    p.query.env = "dev";
    p.query.zone = std::move(zone);
    p.query.appids = std::move(appids);
    p.query.latest = std::move(latest);
    p.query.single = single;
    p.waiter = &waiter_;
    return p;
  }
  void set_status(std::string hostname, int status) {
    SetArgs s{"sh001", "dev", "provider", {std::move(hostname)}, {status}, {}, 0};
    ASSERT_EQ(registry_.set(s).error, "");
  }
  CountingWaiter waiter_;
  NameRenderer renderer_;
};

TEST_F(PollTest, OlderTimestampAnswersAtOnceWithMissingAppsListed) {
  registry_.register_instance(args("h1"));
  auto p = make({"provider", "ghost"}, {0, 0});
  const auto answer = registry_.poll(p, renderer_);
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->changed.size(), 1u);
  EXPECT_EQ(answer->changed[0].first, 0u);
  EXPECT_EQ(*answer->changed[0].second, "provider@");
  EXPECT_EQ(answer->missing, (std::vector<size_t>{1}));
  EXPECT_FALSE(p.parked);
}

// Issue 14.1: the self-registration's watcher renders nothing; a wire poll of the same app and
// zone filter must still get its own rendering, never the watcher's cached one.
TEST_F(PollTest, EachRendererGetsItsOwnRenderingOfAChange) {
  registry_.register_instance(args("h1"));
  class EmptyRenderer final : public PollRenderer {
   public:
    std::string render(const App&, std::string_view) const override { return {}; }
  } internal;
  auto watcher = make({"provider"}, {0});
  const auto first = registry_.poll(watcher, internal);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first->changed[0].second, "");
  auto wire = make({"provider"}, {0});
  const auto second = registry_.poll(wire, renderer_);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second->changed[0].second, "provider@");
  auto again = make({"provider"}, {0});
  ASSERT_TRUE(registry_.poll(again, renderer_));
  EXPECT_EQ(renderer_.renders, 1) << "one rendering per renderer and change";
}

TEST_F(PollTest, CurrentTimestampParksAndRegisterWakes) {
  registry_.register_instance(args("h1"));
  auto p = make({"provider"}, {latest()});
  EXPECT_FALSE(registry_.poll(p, renderer_));
  EXPECT_TRUE(p.parked);
  EXPECT_EQ(registry_.stats().parked_polls, 1);
  renew("h1");
  EXPECT_EQ(waiter_.wakes, 0) << "a renew is not a change";
  registry_.register_instance(args("h2"));
  EXPECT_EQ(waiter_.wakes, 1);
  const auto answer = waiter_.take();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->changed.size(), 1u);
  EXPECT_FALSE(p.parked);
  EXPECT_EQ(registry_.stats().parked_polls, 0);
}

TEST_F(PollTest, SetWakesAndRaisesLatest) {
  registry_.register_instance(args("h1"));
  registry_.register_instance(args("h2"));
  const int64_t before = latest();
  auto p = make({"provider"}, {before});
  EXPECT_FALSE(registry_.poll(p, renderer_));
  set_status("h1", kStatusDown);
  EXPECT_EQ(waiter_.wakes, 1);
  EXPECT_GT(latest(), before);
  EXPECT_TRUE(waiter_.take()) << "h2 is still up: a trigger";
}

TEST_F(PollTest, MissingAppParksAndItsFirstRegistrationWakes) {
  auto p = make({"provider"}, {0});
  EXPECT_FALSE(registry_.poll(p, renderer_));
  registry_.register_instance(args("h1"));
  EXPECT_EQ(waiter_.wakes, 1);
  const auto answer = waiter_.take();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->changed.size(), 1u);
  EXPECT_TRUE(answer->missing.empty());
}

TEST_F(PollTest, CancellingTheLastInstanceAnswersWithMissing) {
  registry_.register_instance(args("h1"));
  auto p = make({"provider"}, {latest()});
  EXPECT_FALSE(registry_.poll(p, renderer_));
  registry_.cancel(key("h1"));
  EXPECT_EQ(waiter_.wakes, 1);
  const auto answer = waiter_.take();
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->changed.empty());
  EXPECT_EQ(answer->missing, (std::vector<size_t>{0}));
}

// The app left between one answer and the next poll: a client that asks to be told (libmuster)
// hears it at once; one that does not (kratos, which keeps its old timestamp) waits as before,
// or it would poll again at once forever.
TEST_F(PollTest, AnAppThatLeftBeforeThePollArrivedIsToldToWhoeverAsks) {
  registry_.register_instance(args("h1"));
  const int64_t known = latest();
  registry_.cancel(key("h1"));
  auto asks = make({"provider", "ghost"}, {known, 0});
  asks.query.report_missing = true;
  const auto answer = registry_.poll(asks, renderer_);
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->changed.empty());
  EXPECT_EQ(answer->missing, (std::vector<size_t>{0, 1}));
  auto never_knew = make({"provider"}, {0});
  never_knew.query.report_missing = true;
  EXPECT_FALSE(registry_.poll(never_knew, renderer_)) << "nothing it knew has changed";
  registry_.unpark(never_knew);
  auto kratos = make({"provider"}, {known});
  EXPECT_FALSE(registry_.poll(kratos, renderer_));
  registry_.unpark(kratos);
}

TEST_F(PollTest, LastInstanceOfThePolledZoneLeavingAnswers) {
  registry_.register_instance(args("h1", "provider", "sh001"));
  registry_.register_instance(args("h2", "provider", "sh002"));
  auto p = make({"provider"}, {latest()}, "sh001");
  EXPECT_FALSE(registry_.poll(p, renderer_));
  registry_.cancel(key("h1", "provider", "sh001"));
  const auto answer = waiter_.take();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->missing, (std::vector<size_t>{0}));
}

// Eviction wakes the polls of the app, once per chunk, after the removals.
TEST_F(PollTest, EvictionAnswersOncePerChunkWithTheStateAfterIt) {
  Options o;
  o.self_protection = false;
  FakeClock clock;
  Registry registry(clock, o);
  for (const char* host : {"h1", "h2", "h3"})
    registry.register_instance(args(host));
  int64_t lts = 0;
  registry.read_app("dev", "provider", [&](const App& app) { lts = app.latest_timestamp; });
  auto p = make({"provider"}, {lts});
  EXPECT_FALSE(registry.poll(p, renderer_));
  clock.advance(91s);
  EXPECT_EQ(registry.tick().evicted, 3u);
  EXPECT_EQ(waiter_.wakes, 1) << "one answer for the chunk, not one per instance";
  const auto answer = waiter_.take();
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->changed.empty());
  EXPECT_EQ(answer->missing, (std::vector<size_t>{0})) << "the app is gone once all three are";
}

TEST_F(PollTest, AnsweredPollOfTwoAppsLeavesBothWatchLists) {
  registry_.register_instance(args("h1"));
  registry_.register_instance(args("c1", "consumer"));
  auto p = make({"provider", "consumer"}, {latest(), latest("consumer")});
  EXPECT_FALSE(registry_.poll(p, renderer_));
  registry_.register_instance(args("c2", "consumer"));
  EXPECT_EQ(waiter_.wakes, 1);
  const auto answer = waiter_.take();
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->changed.size(), 1u);
  EXPECT_EQ(answer->changed[0].first, 1u);
  EXPECT_FALSE(p.parked);
  registry_.register_instance(args("h2"));
  EXPECT_EQ(waiter_.wakes, 1) << "an answered poll is no longer watching provider";
  EXPECT_EQ(registry_.stats().parked_polls, 0);
}

TEST_F(PollTest, AllDownIsNotATrigger) {
  registry_.register_instance(args("h1"));
  set_status("h1", kStatusDown);
  auto p = make({"provider"}, {0});
  EXPECT_FALSE(registry_.poll(p, renderer_))
      << "an app with no UP instance does not answer at once";
  set_status("h1", kStatusUp);
  EXPECT_EQ(waiter_.wakes, 1);
  EXPECT_TRUE(waiter_.take());
  EXPECT_FALSE(p.parked);
}

TEST_F(PollTest, AChangeWithNoTriggerStaysParked) {
  registry_.register_instance(args("h1"));
  auto p = make({"provider"}, {latest()});
  EXPECT_FALSE(registry_.poll(p, renderer_));
  set_status("h1", kStatusDown);
  EXPECT_EQ(waiter_.wakes, 0) << "no UP instance left: not a trigger";
  EXPECT_TRUE(p.parked);
  registry_.unpark(p);
}

TEST_F(PollTest, SinglePollAnswersMissingAtOnce) {
  auto p = make({"ghost"}, {0}, "", /*single=*/true);
  const auto answer = registry_.poll(p, renderer_);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->missing, (std::vector<size_t>{0}));
}

TEST_F(PollTest, OtherEnvDoesNotWake) {
  registry_.register_instance(args("h1"));
  auto p = make({"provider"}, {latest()});
  EXPECT_FALSE(registry_.poll(p, renderer_));
  auto prod = args("h1");
  prod.env = "prod";
  registry_.register_instance(prod);
  EXPECT_EQ(waiter_.wakes, 0);
  registry_.unpark(p);
}

TEST_F(PollTest, UnparkedPollIsNotWoken) {
  registry_.register_instance(args("h1"));
  auto p = make({"provider"}, {latest()});
  EXPECT_FALSE(registry_.poll(p, renderer_));
  registry_.unpark(p);
  registry_.register_instance(args("h2"));
  EXPECT_EQ(waiter_.wakes, 0);
  EXPECT_EQ(registry_.stats().parked_polls, 0);
}

TEST_F(PollTest, OneChangeIsRenderedOnceForEveryPoll) {
  registry_.register_instance(args("h1"));
  const int64_t lts = latest();
  std::vector<ParkedPoll> polls;
  polls.reserve(100);
  for (int i = 0; i < 100; ++i) {
    polls.push_back(make({"provider"}, {lts}));
    EXPECT_FALSE(registry_.poll(polls.back(), renderer_));
  }
  // Each poll gets its own waiter, so that every answer handed over is kept.
  std::vector<CountingWaiter> waiters(polls.size());
  for (size_t i = 0; i < polls.size(); ++i)
    polls[i].waiter = &waiters[i];
  registry_.register_instance(args("h2"));
  const std::string* first = nullptr;
  for (auto& w : waiters) {
    const auto answer = w.take();
    ASSERT_TRUE(answer);
    if (first == nullptr) first = answer->changed[0].second.get();
    EXPECT_EQ(answer->changed[0].second.get(), first) << "the same bytes are shared";
  }
  EXPECT_EQ(registry_.stats().parked_polls, 0);
  EXPECT_EQ(renderer_.renders, 1);
}

}  // namespace
}  // namespace muster::registry::testing
