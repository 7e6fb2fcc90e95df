// The first-update timeout: a job whose provider has not answered since it started is held out
// of the sends (the outputs keep what they had) until it answers, or until the timeout.
#include <gtest/gtest.h>

#include "manager_fixture.h"

namespace muster::sd {
namespace {

using namespace testing;

// Job "f" fed by one fake provider (file/0) that has not sent yet: held, so not sent.
void apply_a_silent_job(Fixture& f, std::chrono::milliseconds timeout) {
  f.manager.set_first_update_timeout(timeout);
  f.manager.apply({file_job("f", "f.json")});
  f.settle();
  EXPECT_FALSE(f.last().contains("f"));
  EXPECT_EQ(f.deltas.back().held, std::set<std::string>{"f"});
}

TEST(SdManagerHold, AJobWaitsForItsProvidersFirstUpdate) {
  Fixture f;
  f.manager.set_first_update_timeout(1h);
  f.manager.apply({static_job("s", {"a:1"}), file_job("f", "f.json")});
  f.settle();
  // The static job, whose provider answered while starting, goes out; "f" is held, not [].
  EXPECT_EQ(addresses(f.last().at("s")), std::vector<std::string>{"a:1"});
  EXPECT_FALSE(f.last().contains("f"));
  EXPECT_EQ(f.deltas.back().held, std::set<std::string>{"f"});
  EXPECT_TRUE(f.deltas.back().jobs.contains("f"));

  f.fakes.at("file/1")->send({group("f.json", {"b:1"})});
  f.settle();
  EXPECT_EQ(addresses(f.last().at("f")), std::vector<std::string>{"b:1"});
  EXPECT_TRUE(f.deltas.back().held.empty());
}

TEST(SdManagerHold, AFirstUpdateWithoutTargetsReleasesTheJob) {
  Fixture f;
  apply_a_silent_job(f, 1h);
  f.fakes.at("file/0")->send({});
  f.settle();
  ASSERT_TRUE(f.last().contains("f"));
  EXPECT_TRUE(f.last().at("f").empty());
}

TEST(SdManagerHold, TheTimeoutReleasesAJobWhoseProviderNeverAnswers) {
  Fixture f;
  apply_a_silent_job(f, 50ms);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!f.last().contains("f") && std::chrono::steady_clock::now() < until) {
    f.io.restart();
    f.io.run_for(10ms);
  }
  ASSERT_TRUE(f.last().contains("f"));
  EXPECT_TRUE(f.last().at("f").empty());
  EXPECT_TRUE(f.deltas.back().held.empty());
}

TEST(SdManagerHold, AJobWithOneSilentProviderIsHeldAsAWhole) {
  Fixture f;
  f.manager.set_first_update_timeout(1h);
  f.manager.apply({{"f", {FileConfig{{"a.json"}, 5min}, FileConfig{{"b.json"}, 5min}}}});
  f.settle();
  f.fakes.at("file/0")->send({group("a.json", {"a:1"})});
  f.settle();
  EXPECT_FALSE(f.last().contains("f"));  // half a job would drop b's targets
  f.fakes.at("file/1")->send({group("b.json", {"b:1"})});
  f.settle();
  EXPECT_EQ(addresses(f.last().at("f")), (std::vector<std::string>{"a:1", "b:1"}));
}

TEST(SdManagerHold, AReplacedProviderLeavesTheTargetsUntilTheNewOneAnswers) {
  Fixture f;
  f.manager.set_first_update_timeout(1h);
  f.manager.apply({file_job("f", "a.json")});
  f.fakes.at("file/0")->send({group("x", {"old:1"})});
  f.settle();
  ASSERT_EQ(addresses(f.last().at("f")), std::vector<std::string>{"old:1"});

  f.manager.apply({file_job("f", "b.json")});
  f.settle();
  EXPECT_TRUE(f.stopped.contains("file/0"));
  EXPECT_EQ(addresses(f.last().at("f")), std::vector<std::string>{"old:1"});  // not [] meanwhile
  f.fakes.at("file/1")->send({group("y", {"new:1"})});
  f.settle();
  EXPECT_EQ(addresses(f.last().at("f")), std::vector<std::string>{"new:1"});
}

TEST(SdManagerHold, ARemovedProviderIsNotWaitedFor) {
  Fixture f;
  f.manager.set_first_update_timeout(1h);
  f.manager.apply({{"f", {FileConfig{{"a.json"}, 5min}, FileConfig{{"b.json"}, 5min}}}});
  f.fakes.at("file/0")->send({group("a.json", {"a:1"})});
  f.fakes.at("file/1")->send({group("b.json", {"b:1"})});
  f.settle();
  f.manager.apply({file_job("f", "a.json")});
  f.settle();
  EXPECT_EQ(addresses(f.last().at("f")), std::vector<std::string>{"a:1"});
}

TEST(SdManagerHold, WithoutATimeoutNothingIsHeldAsInPrometheus) {
  Fixture f;
  f.manager.apply({file_job("f", "f.json")});
  f.settle();
  ASSERT_TRUE(f.last().contains("f"));
  EXPECT_TRUE(f.last().at("f").empty());
  EXPECT_TRUE(f.deltas.back().held.empty());
}

}  // namespace
}  // namespace muster::sd
