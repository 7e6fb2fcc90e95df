// Splitting a job_discovery source's groups into jobs: the job label (a target's over its
// group's), names that are not job names, scrape settings checked as Prometheus 2.42 reads them
// and lifted when a job's targets agree.
#include "sd/job_split.h"

#include <gtest/gtest.h>

namespace muster::sd {
namespace {

using std::chrono::milliseconds;

TargetGroup group(std::vector<std::string> addrs, LabelSet labels, std::string source) {
  TargetGroup g;
  for (auto& a : addrs)
    g.targets.push_back({{"__address__", a}});
  g.labels = std::move(labels);
  g.source = std::move(source);
  return g;
}

TEST(PrometheusDuration, ReadsWhatPrometheusReads) {
  EXPECT_EQ(parse_prometheus_duration("15s"), milliseconds(15000));
  EXPECT_EQ(parse_prometheus_duration("1h30m"), milliseconds(5400000));
  EXPECT_EQ(parse_prometheus_duration("1d"), milliseconds(86400000));
  EXPECT_EQ(parse_prometheus_duration("2w1d"), milliseconds(15 * 86400000LL));
  EXPECT_EQ(parse_prometheus_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_prometheus_duration("1m500ms"), milliseconds(60500));
  EXPECT_EQ(parse_prometheus_duration("0"), milliseconds(0));
  for (const char* bad : {"", "1.5s", "-1s", "30", "s", "1m1h", "1s1s", "1ms1s", "5 s", "1us",
                          "99999999999999999999y", "300y", "293y", "15251w"})
    EXPECT_EQ(parse_prometheus_duration(bad), std::nullopt) << bad;
  // Issue 27.9: Prometheus holds durations in int64 nanoseconds and refuses more than that.
  EXPECT_EQ(parse_prometheus_duration("292y"), milliseconds(292LL * 365 * 86400000));
}

TEST(JobSplit, OneJobPerValueOfTheLabelATargetsOwnValueFirst) {
  Groups groups{group({"a:1", "a:2"}, {{"grp", "storage"}, {"rack", "r1"}}, "s:0"),
                group({"b:1"}, {{"grp", "payments"}}, "s:1")};
  // A target's own label overrides its group's: b:2 belongs to storage.
  groups[1].targets.push_back({{"__address__", "b:2"}, {"grp", "storage"}});
  const SplitJobs split = split_by_job(groups, "grp");
  ASSERT_EQ(split.jobs.size(), 2u);
  const Groups& storage = split.jobs.at("storage");
  ASSERT_EQ(storage.size(), 2u);
  EXPECT_EQ(storage[0].targets.size(), 2u);
  EXPECT_EQ(storage[0].labels.at("rack"), "r1");
  EXPECT_EQ(storage[1].targets.at(0).at("__address__"), "b:2");
  EXPECT_EQ(storage[1].source, "s:1");
  EXPECT_EQ(split.jobs.at("payments").at(0).targets.size(), 1u);
  EXPECT_EQ(split.skipped, 0u);
}

TEST(JobSplit, TargetsWithoutAJobOrWithABadNameAreSkippedAndTold) {
  Groups groups{group({"a:1"}, {}, "s:0"),
                group({"b:1"}, {{"grp", "no spaces"}}, "s:1"),
                group({"c:1"}, {{"grp", std::string(129, 'x')}}, "s:2"),
                group({"d:1"}, {{"grp", ".hidden"}}, "s:3"),
                group({"e:1"}, {{"grp", ""}}, "s:4"),
                group({"f:1"}, {{"grp", "ok"}}, "s:5")};
  const SplitJobs split = split_by_job(groups, "grp");
  EXPECT_EQ(split.skipped, 5u);
  ASSERT_EQ(split.jobs.size(), 1u);
  EXPECT_TRUE(split.jobs.contains("ok"));
  ASSERT_EQ(split.problems.size(), 5u);
  EXPECT_EQ(split.problems[0], "group s:0: target a:1: no label grp");
  EXPECT_NE(split.problems[1].find("\"no spaces\" is not a job name"), std::string::npos);
}

TEST(JobSplit, JobsPastMaxJobsAreLeftOutAndTold) {
  Groups groups;
  for (int i = 0; i < 5; ++i)
    groups.push_back(
        group({"h:" + std::to_string(i)}, {{"grp", "host-" + std::to_string(i)}}, "s"));
  groups.push_back(group({"h:9"}, {{"grp", "host-0"}}, "s"));  // a job already taken: kept
  const SplitJobs split = split_by_job(groups, "grp", 3);
  EXPECT_EQ(split.jobs.size(), 3u);
  EXPECT_EQ(split.jobs.at("host-0").size(), 2u);
  EXPECT_EQ(split.skipped, 2u);
  ASSERT_FALSE(split.problems.empty());
  EXPECT_EQ(split.problems[0], "group s: target h:3: job \"host-3\" is past max_jobs (3)");
}

TEST(JobSplit, ScrapeSettingsPrometheusWouldRefuseSkipTheTarget) {
  const std::vector<std::pair<LabelSet, std::string>> bad{
      {{{"__scheme__", "ftp"}}, "__scheme__ \"ftp\" is neither http nor https"},
      {{{"__metrics_path__", "metrics"}}, "does not start with /"},
      {{{"__scrape_interval__", "1.5s"}}, "is not a positive duration"},
      {{{"__scrape_interval__", "0"}}, "is not a positive duration"},
      {{{"__scrape_timeout__", "soon"}}, "is not a positive duration"},
      {{{"__scrape_interval__", "5s"}, {"__scrape_timeout__", "10s"}}, "is longer than"},
      {{{"__param_", "x"}}, "names no parameter"},
  };
  for (const auto& [labels, why] : bad) {
    LabelSet l = labels;
    l.set("grp", "j");
    const SplitJobs split = split_by_job({group({"a:1"}, l, "s")}, "grp");
    EXPECT_EQ(split.skipped, 1u) << why;
    EXPECT_TRUE(split.jobs.empty()) << why;
    ASSERT_EQ(split.problems.size(), 1u);
    EXPECT_NE(split.problems[0].find(why), std::string::npos) << split.problems[0];
  }
  // Only the first few reasons are kept; every skipped target is counted.
  Groups many;
  for (int i = 0; i < 20; ++i)
    many.push_back(group({"x:" + std::to_string(i)}, {}, "s"));
  const SplitJobs split = split_by_job(many, "grp");
  EXPECT_EQ(split.skipped, 20u);
  EXPECT_EQ(split.problems.size(), 5u);
}

TEST(JobSplit, SettingsEveryTargetOfAJobSharesAreLifted) {
  LabelSet common{{"grp", "j"},
                  {"__metrics_path__", "/m"},
                  {"__scrape_interval__", "5s"},
                  {"__scheme__", "https"},
                  {"__param_module", "http_2xx"},
                  {"__param_target", "a"}};
  Groups groups{group({"a:1", "a:2"}, common, "s:0"), group({"b:1"}, common, "s:1")};
  // b:1 differs in its timeout (a:* have none) and in one parameter.
  groups[1].labels.set("__scrape_timeout__", "2s");
  groups[1].labels.set("__param_target", "b");
  const SplitJobs split = split_by_job(groups, "grp");
  const ScrapeSettings& s = split.settings.at("j");
  EXPECT_EQ(s.metrics_path, "/m");
  EXPECT_EQ(s.scrape_interval, "5s");
  EXPECT_EQ(s.scheme, "https");
  EXPECT_EQ(s.scrape_timeout, "") << "not every target says it";
  EXPECT_EQ(s.params, (std::map<std::string, std::string>{{"module", "http_2xx"}}));
  // One job alone keeps all of its settings.
  const SplitJobs one = split_by_job({groups[1]}, "grp");
  EXPECT_EQ(one.settings.at("j").scrape_timeout, "2s");
  EXPECT_EQ(one.settings.at("j").params.at("target"), "b");
}

}  // namespace
}  // namespace muster::sd
