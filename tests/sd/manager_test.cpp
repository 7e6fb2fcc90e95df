// The discovery manager, with the cases of Prometheus's discovery/manager_test.go and the
// stale-target fixes of PR #13147 (scrape/manager_test.go), on one io_context as in `muster sd`.
#include "sd/manager.h"

#include <gtest/gtest.h>

#include "manager_fixture.h"

namespace muster::sd {
namespace {

using namespace std::chrono_literals;

using namespace testing;

TEST(SdManager, UpdatesMergeBySourceAcrossProviders) {
  Fixture f;
  f.manager.apply({{"job", {FileConfig{{"a.json"}, 5min}, FileConfig{{"b.json"}, 5min}}}});
  auto* a = f.fakes.at("file/0");
  auto* b = f.fakes.at("file/1");
  a->send({group("a:0", {"1:1"}), group("a:1", {"2:1"})});
  b->send({group("b:0", {"3:1"})});
  f.settle();
  EXPECT_EQ(addresses(f.last().at("job")), (std::vector<std::string>{"1:1", "2:1", "3:1"}));
  // A later group replaces the same source; an empty group deletes it.
  a->send({group("a:0", {"9:1"}), group("a:1", {})});
  f.settle();
  EXPECT_EQ(addresses(f.last().at("job")), (std::vector<std::string>{"9:1", "3:1"}));
  EXPECT_EQ(f.manager.discovered().at("job"), 2u);
}

// Groups are kept sorted by source and merged: updates in any order, one source twice in an
// update (the later counts), and a deletion of a source never seen.
TEST(SdManager, UpdatesInAnyOrderMergeIntoSourceOrder) {
  Fixture f;
  f.manager.apply({file_job("job", "a.json")});
  auto* a = f.fakes.at("file/0");
  a->send({group("s5", {"5:1"}), group("s1", {"1:1"}), group("s3", {"3:1"})});
  a->send({group("s4", {"4:1"}), group("s2", {"old:1"}), group("s0", {}), group("s2", {"2:1"})});
  f.settle();
  EXPECT_EQ(addresses(f.last().at("job")),
            (std::vector<std::string>{"1:1", "2:1", "3:1", "4:1", "5:1"}));
  const size_t sends = f.deltas.size();
  a->send({group("s3", {"3:1"}), group("s9", {})});  // the same as stored: nothing to send
  f.settle();
  EXPECT_EQ(f.deltas.size(), sends);
  a->send({group("s1", {}), group("s5", {"50:1"}), group("s6", {"6:1"})});
  f.settle();
  EXPECT_EQ(addresses(f.last().at("job")),
            (std::vector<std::string>{"2:1", "3:1", "4:1", "50:1", "6:1"}));
  EXPECT_EQ(f.manager.stored_sources(), 5u);
}

// The store keeps an update's own array of groups (shared, never copied group by group). A later
// update equal to it takes its place, so the earlier array is freed rather than kept alive by the
// groups that did not change.
TEST(SdManager, ALaterEqualUpdateFreesTheEarlierOne) {
  Fixture f;
  f.manager.apply({file_job("job", "a.json")});
  auto* a = f.fakes.at("file/0");
  a->send({group("s0", {"0:1"}), group("s1", {"1:1"})});
  f.settle();
  const std::weak_ptr<const TargetGroup> first = f.last().at("job").at(0);
  a->send({group("s0", {"0:1"}), group("s1", {"1:1"})});
  a->send({group("s2", {"2:1"})});
  f.settle();
  EXPECT_EQ(addresses(f.last().at("job")), (std::vector<std::string>{"0:1", "1:1", "2:1"}));
  f.sent.clear();  // what the consumer held
  f.deltas.clear();
  f.state.clear();
  EXPECT_TRUE(first.expired());
}

TEST(SdManager, EmptyGroupFreesItsSource) {
  Fixture f;
  f.manager.apply({file_job("job", "a.json")});
  auto* a = f.fakes.at("file/0");
  for (int i = 0; i < 100; ++i)
    a->send({group("s" + std::to_string(i), {"x:1"})});
  EXPECT_EQ(f.manager.stored_sources(), 100u);
  for (int i = 0; i < 100; ++i)
    a->send({group("s" + std::to_string(i), {})});
  EXPECT_EQ(f.manager.stored_sources(), 0u);  // the 2.42 leak: they were kept for ever
  f.settle();
  ASSERT_TRUE(f.last().contains("job"));
  EXPECT_TRUE(f.last().at("job").empty());
}

TEST(SdManager, ReloadWithTheSameConfigKeepsTheProvider) {
  Fixture f;
  f.manager.apply({static_job("prometheus", {"foo:9090"})});
  f.settle();
  EXPECT_EQ(names(f.manager), (std::vector<std::string>{"static/0"}));
  f.manager.apply({static_job("prometheus", {"foo:9090"})});
  f.settle();
  EXPECT_EQ(names(f.manager), (std::vector<std::string>{"static/0"}));
  EXPECT_EQ(f.made, 1);
  EXPECT_EQ(addresses(f.last().at("prometheus")), (std::vector<std::string>{"foo:9090"}));
}

TEST(SdManager, ChangedConfigGetsANewProviderAndDropsTheOldTargets) {
  Fixture f;
  f.manager.apply({static_job("prometheus", {"foo:9090"})});
  f.manager.apply({static_job("prometheus", {"bar:9090"})});
  f.settle();
  EXPECT_EQ(names(f.manager), (std::vector<std::string>{"static/1"}));
  EXPECT_EQ(addresses(f.last().at("prometheus")), (std::vector<std::string>{"bar:9090"}));
}

TEST(SdManager, RenamedJobGetsTheTargetsWithoutARestart) {
  Fixture f;
  f.manager.apply({file_job("prometheus", "a.json")});
  auto* p = f.fakes.at("file/0");
  p->send({group("a:0", {"foo:9090"})});
  f.settle();
  f.manager.apply({file_job("prometheus2", "a.json")});
  f.settle();
  EXPECT_EQ(p->starts, 1);
  EXPECT_FALSE(p->stopped);
  EXPECT_FALSE(f.last().contains("prometheus"));
  EXPECT_EQ(addresses(f.last().at("prometheus2")), (std::vector<std::string>{"foo:9090"}));
}

TEST(SdManager, DuplicateThenDeleteOriginal) {
  Fixture f;
  f.manager.apply({file_job("prometheus", "a.json")});
  f.fakes.at("file/0")->send({group("a:0", {"foo:9090"})});
  f.manager.apply({file_job("prometheus", "a.json"), file_job("prometheus2", "a.json")});
  f.settle();
  EXPECT_EQ(addresses(f.last().at("prometheus2")), (std::vector<std::string>{"foo:9090"}));
  f.manager.apply({file_job("prometheus2", "a.json")});
  f.settle();
  EXPECT_EQ(f.made, 1);
  EXPECT_EQ(f.last().size(), 1u);
  EXPECT_EQ(addresses(f.last().at("prometheus2")), (std::vector<std::string>{"foo:9090"}));
  // The provider feeds only the job left.
  f.fakes.at("file/0")->send({group("a:0", {"bar:9090"})});
  f.settle();
  EXPECT_EQ(addresses(f.last().at("prometheus2")), (std::vector<std::string>{"bar:9090"}));
  EXPECT_FALSE(f.last().contains("prometheus"));
}

TEST(SdManager, IdenticalConfigurationsAreCoalesced) {
  Fixture f;
  f.manager.apply({file_job("a", "x.json"), file_job("b", "x.json")});
  EXPECT_EQ(f.made, 1);
  ASSERT_EQ(f.manager.providers().size(), 1u);
  EXPECT_EQ(f.manager.providers()[0].jobs, (std::set<std::string>{"a", "b"}));
  f.fakes.at("file/0")->send({group("x:0", {"t:1"})});
  f.settle();
  EXPECT_EQ(addresses(f.last().at("a")), (std::vector<std::string>{"t:1"}));
  EXPECT_EQ(addresses(f.last().at("b")), (std::vector<std::string>{"t:1"}));
}

TEST(SdManager, JobWithoutProvidersIsStillPresent) {
  Fixture f;
  f.manager.apply({{"empty", {}}});
  f.settle();
  ASSERT_TRUE(f.last().contains("empty"));
  EXPECT_TRUE(f.last().at("empty").empty());
  EXPECT_EQ(names(f.manager), (std::vector<std::string>{"static/0"}));
}

TEST(SdManager, FailedConfigsAreCountedAndTheJobStays) {
  Fixture f;
  f.refuse = {"1.json", "2.json", "3.json"};
  const auto failures =
      f.manager.apply({{"job",
                        {FileConfig{{"1.json"}, 5min}, FileConfig{{"2.json"}, 5min},
                         FileConfig{{"3.json"}, 5min}}}});
  EXPECT_EQ(failures.size(), 3u);
  EXPECT_EQ(f.manager.failed_configs.value(), 3);
  f.settle();
  EXPECT_TRUE(f.last().contains("job"));
  f.refuse.clear();
  f.manager.apply({{"job", {FileConfig{{"1.json"}, 5min}}}});
  EXPECT_EQ(f.manager.failed_configs.value(), 0);
}

TEST(SdManager, StaticTargetsAreNotModifiedByApply) {
  Fixture f;
  const std::vector<JobConfig> jobs = {static_job("a", {"x:1"})};
  f.manager.apply(jobs);
  f.settle();
  // Compared with a config built afresh: copies of a ProviderConfig share their settings.
  EXPECT_EQ(jobs[0].providers[0], static_job("a", {"x:1"}).providers[0]);
  EXPECT_NE(jobs[0].providers[0], static_job("a", {"x:2"}).providers[0]);
}

TEST(SdManager, TargetsDisappearAfterTheProviderIsRemoved) {
  Fixture f;
  f.manager.apply({{"job", {FileConfig{{"a.json"}, 5min}, FileConfig{{"b.json"}, 5min}}}});
  f.fakes.at("file/0")->send({group("a:0", {"a:1"})});
  f.fakes.at("file/1")->send({group("b:0", {"b:1"})});
  f.settle();
  EXPECT_EQ(addresses(f.last().at("job")).size(), 2u);
  // Only one provider's config is removed: only its targets go.
  f.manager.apply({{"job", {FileConfig{{"b.json"}, 5min}}}});
  f.settle();
  EXPECT_EQ(addresses(f.last().at("job")), (std::vector<std::string>{"b:1"}));
  EXPECT_TRUE(f.stopped.contains("file/0"));
  // Every provider removed: the job is sent with nothing, never with stale targets.
  f.manager.apply({{"job", {}}});
  f.settle();
  ASSERT_TRUE(f.last().contains("job"));
  EXPECT_TRUE(addresses(f.last().at("job")).empty());
}

TEST(SdManager, ApplyAlwaysSendsTheFullState) {
  Fixture f;
  f.manager.apply({static_job("a", {"x:1"})});
  f.settle();
  const size_t before = f.sent.size();
  f.manager.apply({static_job("a", {"x:1"})});  // nothing changed, still sent (PR #13147)
  f.settle();
  EXPECT_EQ(f.sent.size(), before + 1);
}

TEST(SdManager, ChangesAreCoalescedPerThrottleInterval) {
  boost::asio::io_context io;
  std::vector<Snapshot> sent;
  FakeProvider* fake = nullptr;
  Manager manager(
      io, 300ms, [&](const Delta& d) { sent.push_back(d.changed); },
      [&](const ProviderConfig&, ProviderContext) -> MadeProvider {
        auto p = std::make_unique<FakeProvider>();
        fake = p.get();
        return p;
      });
  manager.apply({file_job("job", "a.json")});
  io.poll();
  ASSERT_EQ(sent.size(), 1u);  // the first change after a quiet interval goes out at once
  for (int i = 0; i < 50; ++i)
    fake->send({group("s", {"t:" + std::to_string(i)})});
  io.restart();
  io.poll();
  EXPECT_EQ(sent.size(), 1u);  // held until the interval has passed
  io.restart();
  io.run_for(2s);
  ASSERT_EQ(sent.size(), 2u);  // 50 changes, one send
  EXPECT_EQ(addresses(sent.back().at("job")), (std::vector<std::string>{"t:49"}));
  EXPECT_EQ(manager.received_updates.value(), 50u);
}

TEST(SdManager, OnlyChangedJobsAreSentAndNoChangeSendsNothing) {
  Fixture f;
  f.manager.apply({file_job("a", "a.json"), file_job("b", "b.json")});
  f.fakes.at("file/0")->send({group("a:0", {"1:1"})});
  f.fakes.at("file/1")->send({group("b:0", {"2:1"})});
  f.settle();
  const size_t before = f.deltas.size();
  f.fakes.at("file/0")->send({group("a:0", {"1:1"})});  // the same again: no change
  f.settle();
  EXPECT_EQ(f.deltas.size(), before);
  f.fakes.at("file/0")->send({group("a:0", {"3:1"})});
  f.settle();
  ASSERT_EQ(f.deltas.size(), before + 1);
  EXPECT_EQ(f.deltas.back().changed.size(), 1u);  // only a
  EXPECT_TRUE(f.deltas.back().changed.contains("a"));
  EXPECT_EQ(f.deltas.back().jobs, (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(addresses(f.last().at("b")), (std::vector<std::string>{"2:1"}));
}

TEST(SdManager, NothingIsSentAfterStop) {
  Fixture f;
  f.manager.apply({file_job("job", "a.json")});
  f.settle();
  const size_t before = f.sent.size();
  f.manager.stop();
  EXPECT_TRUE(f.fakes.at("file/0")->stopped);
  f.fakes.at("file/0")->send({group("s", {"t:1"})});
  f.settle();
  EXPECT_EQ(f.sent.size(), before);
}

}  // namespace
}  // namespace muster::sd
