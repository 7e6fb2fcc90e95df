// The Prometheus configuration muster sd writes for its discovered jobs, and when it writes it:
// the template kept, a hand-written job winning its name, settings Prometheus would refuse left
// out; one write per interval, a flapping job never leaving the file.
#include "sd/prometheus_config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace muster::sd {
namespace {

using Clock = JobSetDamper::Clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

PrometheusConfigOutput http_output() {
  PrometheusConfigOutput o;
  o.file = "/tmp/prometheus.yml";
  o.sd_url = "http://127.0.0.1:7272";
  o.refresh_interval = seconds(5);
  return o;
}

YAML::Node rendered(std::string_view tmpl, const DiscoveredSettings& jobs,
                    const PrometheusConfigOutput& o, std::vector<std::string>* skipped = nullptr) {
  auto r = render_prometheus_config(tmpl, jobs, o, "/var/sd");
  if (auto* e = std::get_if<std::string>(&r)) {
    ADD_FAILURE() << *e;
    return {};
  }
  const auto& out = std::get<RenderedPrometheusConfig>(r);
  if (skipped) *skipped = out.skipped;
  return YAML::Load(out.text);
}

TEST(PrometheusConfig, TheTemplateWithOneScrapeConfigPerDiscoveredJob) {
  const std::string tmpl = R"(
global:
  scrape_interval: 30s
  external_labels: {dc: sh}
rule_files: [/etc/rules/*.yml]
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:9090']}]
)";
  ScrapeSettings storage;
  storage.metrics_path = "/storage/metrics";
  storage.scrape_interval = "5s";
  storage.scrape_timeout = "2s";
  storage.scheme = "https";
  storage.params = {{"module", "x"}};
  const YAML::Node c =
      rendered(tmpl, {{"storage", storage}, {"payments", ScrapeSettings{}}}, http_output());
  EXPECT_EQ(c["global"]["external_labels"]["dc"].as<std::string>(), "sh");
  EXPECT_EQ(c["rule_files"][0].as<std::string>(), "/etc/rules/*.yml");
  const YAML::Node jobs = c["scrape_configs"];
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0]["job_name"].as<std::string>(), "prometheus");
  EXPECT_EQ(jobs[1]["job_name"].as<std::string>(), "payments");
  EXPECT_FALSE(jobs[1]["metrics_path"].IsDefined());
  EXPECT_EQ(jobs[1]["http_sd_configs"][0]["url"].as<std::string>(),
            "http://127.0.0.1:7272/sd/payments");
  EXPECT_EQ(jobs[1]["http_sd_configs"][0]["refresh_interval"].as<std::string>(), "5s");
  EXPECT_EQ(jobs[2]["metrics_path"].as<std::string>(), "/storage/metrics");
  EXPECT_EQ(jobs[2]["scrape_interval"].as<std::string>(), "5s");
  EXPECT_EQ(jobs[2]["scrape_timeout"].as<std::string>(), "2s");
  EXPECT_EQ(jobs[2]["scheme"].as<std::string>(), "https");
  EXPECT_EQ(jobs[2]["params"]["module"][0].as<std::string>(), "x");
}

TEST(PrometheusConfig, FileSdJobsReadTheirFiles) {
  PrometheusConfigOutput o = http_output();
  o.file_sd = true;
  const YAML::Node c = rendered("", {{"web", ScrapeSettings{}}}, o);
  EXPECT_EQ(c["scrape_configs"][0]["file_sd_configs"][0]["files"][0].as<std::string>(),
            "/var/sd/web.json");
  EXPECT_FALSE(c["scrape_configs"][0]["http_sd_configs"].IsDefined());
}

TEST(PrometheusConfig, AHandWrittenJobWinsAndRefusedSettingsAreLeftOut) {
  ScrapeSettings slow;
  slow.scrape_timeout = "2m";  // longer than the global interval of 1m
  ScrapeSettings fine;
  fine.scrape_interval = "3m";
  fine.scrape_timeout = "2m";
  std::vector<std::string> skipped;
  const YAML::Node c = rendered(
      "scrape_configs:\n  - job_name: web\n    static_configs: [{targets: ['a:1']}]\n",
      {{"web", ScrapeSettings{}}, {"slow", slow}, {"fine", fine}}, http_output(), &skipped);
  ASSERT_EQ(c["scrape_configs"].size(), 2u);
  EXPECT_EQ(c["scrape_configs"][0]["static_configs"][0]["targets"][0].as<std::string>(), "a:1");
  EXPECT_EQ(c["scrape_configs"][1]["job_name"].as<std::string>(), "fine");
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_EQ(skipped[0], "slow: scrape_timeout 2m is longer than its scrape_interval");
  EXPECT_EQ(skipped[1], "web: the template has a job of that name");
}

TEST(PrometheusConfig, ATemplateThatCannotBeUsedIsAnError) {
  for (const char* bad : {"[1, 2]", "scrape_configs: {a: 1}", "scrape_configs: [{static: 1}]",
                          "global: {scrape_interval: soon}", "a: [unclosed", "global: 5",
                          "global: {scrape_interval: [1]}"}) {
    auto r = render_prometheus_config(bad, {}, http_output(), "/var/sd");
    EXPECT_TRUE(std::holds_alternative<std::string>(r)) << bad;
  }
}

TEST(PrometheusConfig, TheJobsAnEarlierRunWroteAreFoundInItsFile) {
  const PrometheusConfigOutput o = http_output();
  auto r = render_prometheus_config(
      "scrape_configs:\n  - job_name: hand\n    http_sd_configs: [{url: 'http://x:1/sd/hand'}]\n",
      {{"web", ScrapeSettings{}}, {"db", ScrapeSettings{}}}, o, "/var/sd");
  const std::string text = std::get<RenderedPrometheusConfig>(r).text;
  EXPECT_EQ(jobs_written_in(text, o, "/var/sd"), (std::set<std::string>{"db", "web"}));
  PrometheusConfigOutput files = o;
  files.file_sd = true;
  auto f = render_prometheus_config("", {{"web", ScrapeSettings{}}}, files, "/var/sd");
  EXPECT_EQ(jobs_written_in(std::get<RenderedPrometheusConfig>(f).text, files, "/var/sd"),
            (std::set<std::string>{"web"}));
  EXPECT_TRUE(jobs_written_in(text, files, "/var/sd").empty());
  EXPECT_TRUE(jobs_written_in("[: not yaml", o, "/var/sd").empty());
  EXPECT_TRUE(jobs_written_in("scrape_configs: [{job_name: a}, 3]", o, "/var/sd").empty());
}

TEST(JobSetDamper, TheFirstChangeAtOnceLaterOnesOncePerInterval) {
  JobSetDamper d(seconds(30));
  const auto t0 = Clock::now();
  EXPECT_FALSE(d.due());
  d.observe(t0, {{"a", {}}});
  ASSERT_TRUE(d.due());
  EXPECT_LE(*d.due(), t0);
  EXPECT_EQ(d.take(t0).size(), 1u);
  EXPECT_FALSE(d.due()) << "what is written is what should be";
  d.observe(t0 + seconds(1), {{"a", {}}, {"b", {}}});
  d.observe(t0 + seconds(2), {{"a", {}}, {"b", {}}, {"c", {}}});
  EXPECT_EQ(d.due(), t0 + seconds(30));
  EXPECT_EQ(d.take(t0 + seconds(30)).size(), 3u) << "both changes in one write";
  // A changed setting is a change.
  ScrapeSettings s;
  s.metrics_path = "/x";
  d.observe(t0 + seconds(100), {{"a", s}, {"b", {}}, {"c", {}}});
  EXPECT_EQ(d.due(), t0 + seconds(60));
}

TEST(JobSetDamper, AJobThatFlapsNeverLeavesTheFile) {
  JobSetDamper d(seconds(30));
  const auto t0 = Clock::now();
  d.observe(t0, {{"a", {}}, {"b", {}}});
  d.take(t0);
  // b goes and comes back within the interval, twice: nothing to write at all.
  for (int i = 1; i <= 4; ++i) {
    d.observe(t0 + seconds(10 * i),
              i % 2 ? DiscoveredSettings{{"a", {}}} : DiscoveredSettings{{"a", {}}, {"b", {}}});
  }
  EXPECT_FALSE(d.due());
  // b goes for good: it leaves the file once it has been gone for the interval.
  d.observe(t0 + seconds(100), {{"a", {}}});
  EXPECT_EQ(d.due(), t0 + seconds(130));
  EXPECT_EQ(d.take(t0 + seconds(110)).size(), 2u) << "too early: b is still written";
  EXPECT_EQ(d.due(), t0 + seconds(140));
  EXPECT_EQ(d.take(t0 + seconds(140)).size(), 1u);
  EXPECT_FALSE(d.due());
}

}  // namespace
}  // namespace muster::sd
