// The jobs of job_discovery sources between sends: who owns a name (a configured job, then the
// earlier source), which jobs changed, and the jobs that went (then forgotten).
#include "sd/discovered_jobs.h"

#include <gtest/gtest.h>

namespace muster::sd {
namespace {

using Clock = DiscoveredJobs::Clock;
using std::chrono::minutes;
using std::chrono::seconds;

JobSourceConfig source(std::string name, std::chrono::milliseconds forget = minutes(10)) {
  JobSourceConfig c;
  c.name = std::move(name);
  c.job_label = "grp";
  c.forget_removed_after = forget;
  return c;
}

SharedGroups groups_of(std::vector<std::pair<std::string, std::string>> job_addr) {
  SharedGroups out;
  for (auto& [job, addr] : job_addr)
    out.push_back(std::make_shared<const TargetGroup>(
        TargetGroup{{{{"__address__", addr}}}, {{"grp", job}}, addr}));
  return out;
}

TEST(DiscoveredJobs, AConfiguredJobAndAnEarlierSourceWinAClash) {
  DiscoveredJobs d;
  d.configure({source("cmdb"), source("other")}, {"node"});
  d.update("cmdb", groups_of({{"web", "a:1"}, {"node", "a:2"}}));
  d.update("other", groups_of({{"web", "b:1"}, {"db", "b:2"}}));
  const auto now = Clock::now();
  const auto settled = d.settle(now);
  EXPECT_EQ(settled.changed, (std::set<std::string>{"db", "web"}));
  EXPECT_EQ(d.owners(), (std::map<std::string, std::string>{{"db", "other"}, {"web", "cmdb"}}));
  EXPECT_EQ(d.groups("web").at(0).targets.at(0).at("__address__"), "a:1");
  const auto stats = d.stats();
  EXPECT_EQ(stats.at("cmdb").clashes, 1u);   // node is configured
  EXPECT_EQ(stats.at("other").clashes, 1u);  // web is cmdb's
  EXPECT_EQ(stats.at("cmdb").jobs, 1u);
  EXPECT_EQ(stats.at("other").targets, 1u);
  // The configured job goes: the name is free for the source that has it.
  d.configure({source("cmdb"), source("other")}, {});
  const auto again = d.settle(now);
  EXPECT_EQ(again.changed, (std::set<std::string>{"node"}));
  EXPECT_EQ(d.stats().at("cmdb").clashes, 0u);
}

TEST(DiscoveredJobs, OnlyJobsWhoseGroupsChangedAreChanged) {
  DiscoveredJobs d;
  d.configure({source("cmdb")}, {});
  d.update("cmdb", groups_of({{"web", "a:1"}, {"db", "b:1"}}));
  const auto now = Clock::now();
  d.settle(now);
  d.update("cmdb", groups_of({{"web", "a:1"}, {"db", "b:2"}}));
  auto settled = d.settle(now);
  EXPECT_EQ(settled.changed, (std::set<std::string>{"db"}));
  EXPECT_TRUE(settled.gone.empty());
  d.update("cmdb", groups_of({{"web", "a:1"}, {"db", "b:2"}}));
  EXPECT_TRUE(d.settle(now).changed.empty()) << "the same answer changes nothing";
}

TEST(DiscoveredJobs, AJobThatGoesIsAnsweredEmptyThenForgotten) {
  DiscoveredJobs d;
  d.configure({source("cmdb", minutes(10))}, {});
  d.update("cmdb", groups_of({{"web", "a:1"}, {"db", "b:1"}}));
  const auto t0 = Clock::now();
  d.settle(t0);
  d.update("cmdb", groups_of({{"web", "a:1"}}));
  const auto settled = d.settle(t0 + seconds(1));
  EXPECT_EQ(settled.gone, (std::set<std::string>{"db"}));
  EXPECT_TRUE(d.gone().contains("db"));
  EXPECT_EQ(d.next_expiry(), t0 + seconds(1) + minutes(10));
  EXPECT_TRUE(d.expire(t0 + minutes(10)).empty());
  EXPECT_EQ(d.expire(t0 + minutes(11)), std::vector<std::string>{"db"});
  EXPECT_FALSE(d.next_expiry());
  // Coming back before it is forgotten ends its being gone.
  d.update("cmdb", groups_of({}));
  d.settle(t0 + minutes(12));
  d.update("cmdb", groups_of({{"web", "a:1"}}));
  const auto back = d.settle(t0 + minutes(13));
  EXPECT_EQ(back.changed, (std::set<std::string>{"web"}));
  EXPECT_TRUE(d.gone().empty());
}

TEST(DiscoveredJobs, ASourceRemovedFromTheConfigurationTakesItsJobs) {
  DiscoveredJobs d;
  d.configure({source("cmdb"), source("other")}, {});
  d.update("cmdb", groups_of({{"web", "a:1"}}));
  d.update("other", groups_of({{"db", "b:1"}}));
  const auto now = Clock::now();
  d.settle(now);
  d.configure({source("other")}, {});
  const auto settled = d.settle(now);
  EXPECT_EQ(settled.gone, (std::set<std::string>{"web"}));
  EXPECT_EQ(d.jobs_of("other"), (std::set<std::string>{"db"}));
  EXPECT_EQ(d.stats().size(), 1u);
  EXPECT_EQ(d.settings().size(), 1u);
}

}  // namespace
}  // namespace muster::sd
