// The manager's merge order and its thread contract: the table of Prometheus's
// TestTargetUpdatesOrder, and TestTargetSetTargetGroupsUpdateDuringApplyConfig's 1000 updates
// racing 1000 reloads (here from two threads posting to the manager's loop, run under TSan in CI).
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <thread>

#include "manager_fixture.h"

namespace muster::sd {
namespace {

using namespace testing;

// One provider's update, in the order the updates arrive (Prometheus orders them by the mock
// providers' intervals; the order is written out here).
struct Step {
  int provider;  // 0, 1, 2: the job's first, second, third provider
  Groups groups;
  // What the job holds afterwards, "source=address" in provider order, then source order. Groups
  // emptied are gone (an empty group frees its source), where Prometheus kept them empty.
  std::vector<std::string> expected;
};

struct OrderCase {
  std::string title;
  int providers;
  std::vector<Step> steps;
};

std::vector<std::string> rendered(const SharedGroups& groups) {
  std::vector<std::string> out;
  for (const auto& g : groups)
    for (const auto& t : g->targets)
      out.push_back(g->source.str() + "=" + std::string(t.at("__address__")));
  return out;
}

std::vector<OrderCase> order_cases() {
  const auto g = [](std::string source, std::string address) {
    return group(std::move(source), {std::move(address)});
  };
  const auto empty = [](std::string source) { return group(std::move(source), {}); };
  return {
      {"Single TP no updates", 1, {}},
      {"Multiple TPs no updates", 3, {}},
      {"Single TP empty initials", 1, {{0, {}, {}}}},
      {"Multiple TPs empty initials", 3, {{0, {}, {}}, {2, {}, {}}, {1, {}, {}}}},
      {"Single TP initials only",
       1,
       {{0, {g("tp1_group1", "1"), g("tp1_group2", "2")}, {"tp1_group1=1", "tp1_group2=2"}}}},
      {"Multiple TPs initials only",
       2,
       {{0, {g("tp1_group1", "1"), g("tp1_group2", "2")}, {"tp1_group1=1", "tp1_group2=2"}},
        {1, {g("tp2_group1", "3")}, {"tp1_group1=1", "tp1_group2=2", "tp2_group1=3"}}}},
      {"Single TP initials followed by empty updates",
       1,
       {{0, {g("tp1_group1", "1"), g("tp1_group2", "2")}, {"tp1_group1=1", "tp1_group2=2"}},
        {0, {empty("tp1_group1"), empty("tp1_group2")}, {}}}},
      {"Single TP initials and new groups",
       1,
       {{0, {g("tp1_group1", "1"), g("tp1_group2", "2")}, {"tp1_group1=1", "tp1_group2=2"}},
        {0,
         {g("tp1_group1", "3"), g("tp1_group2", "4"), g("tp1_group3", "1")},
         {"tp1_group1=3", "tp1_group2=4", "tp1_group3=1"}}}},
      {"Multiple TPs initials and new groups",
       2,
       {{0, {g("tp1_group1", "1"), g("tp1_group2", "2")}, {"tp1_group1=1", "tp1_group2=2"}},
        {1,
         {g("tp2_group1", "5"), g("tp2_group2", "6")},
         {"tp1_group1=1", "tp1_group2=2", "tp2_group1=5", "tp2_group2=6"}},
        {1,
         {g("tp2_group3", "7"), g("tp2_group4", "8")},
         {"tp1_group1=1", "tp1_group2=2", "tp2_group1=5", "tp2_group2=6", "tp2_group3=7",
          "tp2_group4=8"}},
        {0,
         {g("tp1_group3", "3"), g("tp1_group4", "4")},
         {"tp1_group1=1", "tp1_group2=2", "tp1_group3=3", "tp1_group4=4", "tp2_group1=5",
          "tp2_group2=6", "tp2_group3=7", "tp2_group4=8"}}}},
      {"One TP initials arrive after other TP updates",
       2,
       {{0, {g("tp1_group1", "1"), g("tp1_group2", "2")}, {"tp1_group1=1", "tp1_group2=2"}},
        {0, {g("tp1_group1", "3"), g("tp1_group2", "4")}, {"tp1_group1=3", "tp1_group2=4"}},
        {1,
         {g("tp2_group1", "5"), g("tp2_group2", "6")},
         {"tp1_group1=3", "tp1_group2=4", "tp2_group1=5", "tp2_group2=6"}},
        {1,
         {g("tp2_group1", "7"), g("tp2_group2", "8")},
         {"tp1_group1=3", "tp1_group2=4", "tp2_group1=7", "tp2_group2=8"}}}},
      {"Single TP empty update in between",
       1,
       {{0, {g("tp1_group1", "1"), g("tp1_group2", "2")}, {"tp1_group1=1", "tp1_group2=2"}},
        {0, {empty("tp1_group1"), empty("tp1_group2")}, {}},
        {0, {g("tp1_group1", "3"), g("tp1_group2", "4")}, {"tp1_group1=3", "tp1_group2=4"}}}},
  };
}

TEST(SdManagerOrder, TargetUpdatesOrder) {
  for (const OrderCase& c : order_cases()) {
    SCOPED_TRACE(c.title);
    Fixture f;
    JobConfig job{"job", {}};
    for (int i = 0; i < c.providers; ++i)
      job.providers.emplace_back(FileConfig{{"tp" + std::to_string(i + 1) + ".json"}, 5min});
    f.manager.apply({job});
    f.settle();
    ASSERT_TRUE(f.last().contains("job"));
    EXPECT_TRUE(f.last().at("job").empty());
    for (size_t s = 0; s < c.steps.size(); ++s) {
      const Step& step = c.steps[s];
      f.fakes.at("file/" + std::to_string(step.provider))->send(step.groups);
      f.settle();
      EXPECT_EQ(rendered(f.last().at("job")), step.expected) << "after update " << s;
    }
  }
}

TEST(SdManagerOrder, UpdatesDuringReloadsFromOtherThreads) {
  Fixture f;
  // Reloads alternate between one job and two jobs sharing the provider, so the provider runs on
  // and a job added mid-stream gets its targets at once.
  const std::vector<JobConfig> one = {file_job("a", "x.json")};
  const std::vector<JobConfig> two = {file_job("a", "x.json"), file_job("b", "x.json")};
  f.manager.apply(one);
  auto work = boost::asio::make_work_guard(f.io);
  std::thread loop([&] { f.io.run(); });
  constexpr int kRounds = 1000;
  // Providers deliver on the manager's loop; this thread stands for them.
  std::thread updates([&] {
    for (int i = 0; i < kRounds; ++i) {
      boost::asio::post(f.io, [&f, i] {
        f.fakes.at("file/0")->send({group("x:0", {"t:" + std::to_string(i)})});
      });
    }
  });
  // Reloads (SIGHUP, POST /-/reload) are posted to the loop too; this thread stands for them.
  for (int i = 0; i < kRounds; ++i)
    boost::asio::post(f.io, [&f, &one, &two, i] { f.manager.apply(i % 2 == 0 ? one : two); });
  updates.join();
  work.reset();
  loop.join();
  f.settle();

  EXPECT_EQ(f.made, 1);  // the same provider config throughout: never restarted
  EXPECT_EQ(f.fakes.at("file/0")->starts, 1);
  EXPECT_EQ(f.manager.received_updates.value(), static_cast<uint64_t>(kRounds));
  // The last reload had both jobs; each holds the last update, nothing stale, nothing doubled.
  ASSERT_EQ(f.last().size(), 2u);
  EXPECT_EQ(addresses(f.last().at("a")), (std::vector<std::string>{"t:999"}));
  EXPECT_EQ(addresses(f.last().at("b")), (std::vector<std::string>{"t:999"}));
  EXPECT_EQ(f.manager.stored_sources(), 2u);
}

}  // namespace
}  // namespace muster::sd
