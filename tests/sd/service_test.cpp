// muster sd as one object: what exists by the time start() returns (the caller opens the HTTP
// port right after, and Prometheus may ask at once).
#include "sd/service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "temp_dir.h"

namespace muster::sd {
namespace {

class SdService : public testing::InTempDir {
 protected:
  SdService() : InTempDir("service") {}

  std::string write_config(const std::string& throttle, const std::string& more_jobs = "") {
    const auto path = dir_ / "sd.yml";
    std::ofstream(path) << "throttle: " << throttle
                        << "\noutput:\n  file_sd_dir: " << (dir_ / "out").string()
                        << "\nscrape_configs:\n  - job_name: web\n    static_configs:\n"
                           "      - targets: ['a:1']\n  - job_name: empty\n"
                        << more_jobs;
    return path.string();
  }
  // The started service, or null with the failure recorded (why it did not start).
  static std::unique_ptr<Service> start(const std::string& config_path) {
    auto started = Service::start(config_path);
    if (auto* problem = std::get_if<std::string>(&started)) {
      ADD_FAILURE() << "muster sd did not start: " << *problem;
      return nullptr;
    }
    return std::move(std::get<std::unique_ptr<Service>>(started));
  }
};

// Every configured job is published, files written, before start() returns, whatever the
// throttle: no 404 for a configured job, no missing file, in the first moments.
TEST_F(SdService, EveryJobIsPublishedWhenStartReturns) {
  for (const std::string throttle : {"0s", "1h"}) {
    SCOPED_TRACE(throttle);
    auto started = start(write_config(throttle));
    ASSERT_TRUE(started);
    auto& service = *started;
    const auto published = service.published();
    ASSERT_TRUE(published->documents.contains("web"));
    EXPECT_EQ(*published->documents.at("web"), R"([{"targets":["a:1"],"labels":{}}])");
    ASSERT_TRUE(published->documents.contains("empty"));
    EXPECT_EQ(*published->documents.at("empty"), "[]");
    EXPECT_TRUE(std::filesystem::exists(dir_ / "out" / "web.json"));
    EXPECT_TRUE(std::filesystem::exists(dir_ / "out" / "empty.json"));
    service.stop();
    std::filesystem::remove_all(dir_ / "out");
  }
}

// When reload() returns, a job it added is published, or held (503) while the throttle holds the
// send: never unknown (404) to a Prometheus that asks at once.
TEST_F(SdService, AJobAddedByAReloadIsPublishedOrHeldWhenReloadReturns) {
  for (const std::string throttle : {"0s", "1h"}) {
    SCOPED_TRACE(throttle);
    auto started = start(write_config(throttle));
    ASSERT_TRUE(started);
    auto& service = *started;
    write_config(throttle, "  - job_name: api\n    static_configs: [{targets: ['c:1']}]\n");
    EXPECT_EQ(service.reload(), "");
    const auto published = service.published();
    if (throttle == "0s") {
      ASSERT_TRUE(published->documents.contains("api"));
      EXPECT_EQ(*published->documents.at("api"), R"([{"targets":["c:1"],"labels":{}}])");
      EXPECT_TRUE(published->held.empty());
    } else {
      EXPECT_FALSE(published->documents.contains("api"));
      EXPECT_EQ(published->held, std::set<std::string>{"api"});
      EXPECT_TRUE(published->documents.contains("web"));  // until the send, as it was
    }
    service.stop();
  }
}

// A restart: the job of a slow source keeps the last run's file (Prometheus keeps scraping its
// targets) until the source answers; a job that left the configuration is emptied.
TEST_F(SdService, AfterARestartASlowSourcesJobKeepsItsFileUntilItAnswers) {
  const auto script = dir_ / "cmdb.sh";
  std::ofstream(script) << "#!/bin/sh\nsleep 1\necho '[{\"targets\":[\"new:1\"]}]'\n";
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  std::filesystem::create_directories(dir_ / "out");
  const std::string old_cmdb = R"([{"targets":["old:1"],"labels":{}}])";
  std::ofstream(dir_ / "out" / "cmdb.json") << old_cmdb;
  std::ofstream(dir_ / "out" / "gone.json") << old_cmdb;
  std::ofstream(dir_ / "out" / ".muster-sd-files") << "cmdb\ngone\n";  // the last run wrote them
  std::ofstream(dir_ / "sd.yml") << "throttle: 0s\noutput:\n  file_sd_dir: "
                                 << (dir_ / "out").string()
                                 << "\nscrape_configs:\n  - job_name: cmdb\n    exec_sd_configs:\n"
                                    "      - command: ['"
                                 << script.string() << "']\n";
  auto started = start((dir_ / "sd.yml").string());
  ASSERT_TRUE(started);
  auto& service = *started;
  EXPECT_EQ(service.published()->held, std::set<std::string>{"cmdb"});
  EXPECT_FALSE(service.published()->documents.contains("cmdb"));
  EXPECT_EQ(read("out/cmdb.json"), old_cmdb);
  EXPECT_EQ(read("out/gone.json"), "[]");

  auto fresh = [&] { return read("out/cmdb.json").find("\"new:1\"") != std::string::npos; };
  // The file is written just before the snapshot is published: wait for both.
  auto done = [&] { return fresh() && service.published()->held.empty(); };
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(fresh()) << read("out/cmdb.json");
  EXPECT_TRUE(service.published()->held.empty());
  service.stop();
}

TEST_F(SdService, ABadFileSaysWhy) {
  std::ofstream(dir_ / "sd.yml") << "scrape_configs:\n  - job_name: web\n    static_config: []\n";
  auto started = Service::start((dir_ / "sd.yml").string());
  ASSERT_TRUE(std::holds_alternative<std::string>(started));
  EXPECT_NE(std::get<std::string>(started).find("unknown key \"static_config\""),
            std::string::npos);
  started = Service::start((dir_ / "missing.yml").string());
  ASSERT_TRUE(std::holds_alternative<std::string>(started));
  EXPECT_NE(std::get<std::string>(started).find("cannot read"), std::string::npos);
}

// A job_discovery source end to end in one process: its jobs published and written like
// configured ones, a configured job winning its name, a job gone answered [] and then forgotten.
TEST_F(SdService, DiscoveredJobsArePublishedAndForgottenAfterTheyGo) {
  const auto path = (dir_ / "sd.yml").string();
  auto write = [&](const std::string& groups) {
    std::ofstream(path) << "throttle: 0s\noutput:\n  file_sd_dir: " << (dir_ / "out").string()
                        << "\nscrape_configs:\n  - job_name: web\n    static_configs: "
                           "[{targets: ['w:1']}]\njob_discovery:\n  - name: cmdb\n"
                           "    job_label: grp\n    forget_removed_after: 300ms\n"
                           "    static_configs:\n"
                        << groups;
  };
  write(
      "      - {targets: ['a:1'], labels: {grp: db}}\n"
      "      - {targets: ['b:1'], labels: {grp: web}}\n"
      "      - {targets: ['c:1'], labels: {grp: cache}}\n");
  auto started = start(path);
  ASSERT_TRUE(started);
  auto& service = *started;
  auto published = service.published();
  EXPECT_EQ(published->discovered,
            (std::map<std::string, std::string>{{"cache", "cmdb"}, {"db", "cmdb"}}));
  EXPECT_EQ(*published->documents.at("web"), R"([{"targets":["w:1"],"labels":{}}])")
      << "the configured job keeps its name";
  EXPECT_EQ(*published->documents.at("db"), R"([{"targets":["a:1"],"labels":{"grp":"db"}}])");
  EXPECT_EQ(published->sources.at("cmdb").clashes, 1u);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "out" / "db.json"));
  // cache goes: [] at once, then forgotten (its file removed) after forget_removed_after.
  write("      - {targets: ['a:1'], labels: {grp: db}}\n");
  EXPECT_EQ(service.reload(), "");
  published = service.published();
  EXPECT_TRUE(published->removed.contains("cache"));
  EXPECT_FALSE(published->documents.contains("cache"));
  std::ifstream cache(dir_ / "out" / "cache.json");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(cache), {}), "[]");
  for (int i = 0; i < 100 && std::filesystem::exists(dir_ / "out" / "cache.json"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out" / "cache.json"));
  EXPECT_FALSE(service.published()->removed.contains("cache"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "out" / "db.json"));
  service.stop();
}

}  // namespace
}  // namespace muster::sd
