// file_sd with real files and inotify: the cases of Prometheus's discovery/file/file_test.go.
// The refresh interval is an hour, so only the watches can make these pass.
#include "sd/providers/file_provider.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "provider_harness.h"

namespace muster::sd {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class FileProviderTest : public testing::ProviderInTempDir {
 protected:
  FileProviderTest() : ProviderInTempDir("file") {}
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Writes through a temporary file and a rename, as an atomic producer does.
  void write(const std::string& name, const std::string& content) {
    {
      std::ofstream out(path(name) + ".tmp");
      out << content;
    }
    fs::rename(path(name) + ".tmp", path(name));
  }
  void write_in_place(const std::string& name, const std::string& content, bool append = false) {
    std::ofstream out(path(name), append ? std::ios::app : std::ios::trunc);
    out << content;
  }
  void start(std::vector<std::string> patterns) {
    provider_ = make_provider(FileConfig{std::move(patterns), 1h}, h_.context());
    provider_->start(h_.sender());
  }
  size_t batches() const { return h_.batches.size(); }
};

const char* kTwoGroups =
    R"([{"targets":["localhost:9090","example.org:443"],"labels":{"foo":"bar"}},)"
    R"({"targets":["my.domain"]}])";

TEST_F(FileProviderTest, InitialUpdateHasSourcesAndFilepath) {
  write("valid.json", kTwoGroups);
  write("valid.yml", "- targets: ['a:1']\n");
  start({path("*.json"), path("*.yml")});
  ASSERT_TRUE(h_.run_until([&] { return batches() >= 1; }));
  ASSERT_EQ(h_.merged.size(), 3u);
  const auto& g0 = h_.merged.at(path("valid.json") + ":0");
  EXPECT_EQ(g0.labels.at("__meta_filepath"), path("valid.json"));
  EXPECT_EQ(g0.labels.at("foo"), "bar");
  EXPECT_EQ(g0.targets.size(), 2u);
  EXPECT_TRUE(h_.merged.contains(path("valid.json") + ":1"));
  EXPECT_TRUE(h_.merged.contains(path("valid.yml") + ":0"));
}

TEST_F(FileProviderTest, InvalidFileSendsNoTargetsAndCountsAFailure) {
  for (const auto* name : {"invalid_nil.json", "invalid_nil.yml"}) {
    write(name, std::string(name).ends_with("json") ? "[null]" : "- null\n");
  }
  start({path("*.json"), path("*.yml")});
  ASSERT_TRUE(h_.run_until([&] { return batches() >= 1; }));
  EXPECT_TRUE(h_.merged.empty());
  EXPECT_EQ(h_.stats->failures.value(), 2u);
}

TEST_F(FileProviderTest, NoopUpdateResendsTheGroups) {
  write("a.json", kTwoGroups);
  start({path("*.json")});
  ASSERT_TRUE(h_.run_until([&] { return batches() >= 1; }));
  write("a.json", kTwoGroups);
  ASSERT_TRUE(h_.run_until([&] { return batches() >= 2; }));
  EXPECT_EQ(h_.batches.back().size(), 2u);
}

TEST_F(FileProviderTest, UpdateIsSeenThroughTheWatch) {
  write("a.json", kTwoGroups);
  start({path("*.json")});
  ASSERT_TRUE(h_.run_until([&] { return batches() >= 1; }));
  write("a.json", R"([{"targets":["1:1"]},{"targets":["2:1"]},{"targets":["3:1"]}])");
  ASSERT_TRUE(h_.run_until([&] { return h_.merged.size() == 3; }));
  EXPECT_EQ(h_.addresses(), (std::vector<std::string>{"1:1", "2:1", "3:1"}));
}

TEST_F(FileProviderTest, InvalidUpdateKeepsTheLastGoodGroups) {
  write("a.json", kTwoGroups);
  start({path("*.json")});
  ASSERT_TRUE(h_.run_until([&] { return batches() >= 1; }));
  write("a.json", "[null]");
  ASSERT_TRUE(h_.run_until([&] { return h_.stats->failures.value() >= 1; }));
  h_.run_for(100ms);
  EXPECT_EQ(h_.merged.size(), 2u);  // nothing emptied
}

TEST_F(FileProviderTest, PartialWritesKeepThenShrink) {
  write("a.yml", "- targets: ['localhost:9090']\n- targets: ['localhost:9092']\n");
  start({path("*.yml")});
  ASSERT_TRUE(h_.run_until([&] { return h_.merged.size() == 2; }));
  write_in_place("a.yml", "- targets");  // half written: invalid, the old groups stay
  ASSERT_TRUE(h_.run_until([&] { return h_.stats->failures.value() >= 1; }));
  EXPECT_EQ(h_.merged.size(), 2u);
  write_in_place("a.yml", ": [\"localhost:9091\"]\n", true);
  ASSERT_TRUE(h_.run_until([&] { return h_.merged.size() == 1; }));
  EXPECT_EQ(h_.addresses(), (std::vector<std::string>{"localhost:9091"}));
  // The second group went as an empty group with its source.
  bool emptied = false;
  for (const auto& g : h_.batches.back())
    emptied |= g.source == path("a.yml") + ":1" && g.targets.empty();
  EXPECT_TRUE(emptied);
}

TEST_F(FileProviderTest, RemovedFileEmptiesItsGroups) {
  write("a.json", kTwoGroups);
  start({path("*.json")});
  ASSERT_TRUE(h_.run_until([&] { return h_.merged.size() == 2; }));
  fs::remove(path("a.json"));
  ASSERT_TRUE(h_.run_until([&] { return h_.merged.empty(); }));
}

TEST_F(FileProviderTest, NewMatchingFileIsPickedUpAndOthersAreIgnored) {
  start({path("*.json")});
  ASSERT_TRUE(h_.run_until([&] { return batches() >= 1; }));
  write("other.txt", "not a target file");
  write("b.json", R"([{"targets":["b:1"]}])");
  ASSERT_TRUE(h_.run_until([&] { return h_.merged.size() == 1; }));
  EXPECT_EQ(h_.addresses(), (std::vector<std::string>{"b:1"}));
}

TEST_F(FileProviderTest, RefreshIntervalIsABackstop) {
  write("a.json", R"([{"targets":["a:1"]}])");
  provider_ = make_provider(FileConfig{{path("*.json")}, 200ms}, h_.context());
  provider_->start(h_.sender());
  ASSERT_TRUE(h_.run_until([&] { return batches() >= 3; }));  // re-read without any event
  EXPECT_EQ(h_.addresses(), (std::vector<std::string>{"a:1"}));
}

TEST_F(FileProviderTest, HundredsOfProvidersShareOneInotifyInstance) {
  // More than the default 128 inotify instances a user may have.
  constexpr int kProviders = 300;
  std::vector<std::unique_ptr<Provider>> providers;
  std::vector<size_t> seen(kProviders, 0);
  for (int i = 0; i < kProviders; ++i) {
    write("f" + std::to_string(i) + ".json", R"([{"targets":["a:1"]}])");
    providers.push_back(make_provider(FileConfig{{path("f" + std::to_string(i) + ".json")}, 1h},
                                      h_.context("file/" + std::to_string(i))));
    providers.back()->start([&seen, i](Groups) { ++seen[i]; });
  }
  write("f250.json", R"([{"targets":["b:1"]}])");
  ASSERT_TRUE(h_.run_until([&] { return seen[250] >= 2; }));  // seen through the watch
  EXPECT_EQ(h_.stats->failures.value(), 0u);
  for (auto& p : providers)
    p->stop();
}

TEST_F(FileProviderTest, NothingIsSentAfterStop) {
  write("a.json", R"([{"targets":["a:1"]}])");
  start({path("*.json")});
  ASSERT_TRUE(h_.run_until([&] { return batches() >= 1; }));
  provider_->stop();
  const size_t before = batches();
  write("a.json", R"([{"targets":["b:1"]}])");
  h_.run_for(200ms);
  EXPECT_EQ(batches(), before);
}

}  // namespace
}  // namespace muster::sd
