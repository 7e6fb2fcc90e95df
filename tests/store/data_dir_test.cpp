// The data directory (store/data_dir.h) over a real directory: what a registry held comes back in
// a new registry (removals and sets included, Consul registrations too) after a crash with no
// final snapshot and after a clean close; compaction keeps two generations, and a damaged newest
// snapshot falls back to the previous one and its journals; a truncated journal, a
// corrupted snapshot and a snapshot cut short lose only what they touch; a second store is kept
// out by the lock; a disk that refuses writes leaves the registry serving and says so.
#include "store/data_dir.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <unordered_set>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "common/clock.h"

namespace muster::store {
namespace {

namespace fs = std::filesystem;
using registry::Registry;

registry::RegisterArgs args(std::string hostname, std::string appid = "app") {
  registry::RegisterArgs a;
  a.region = "sh";
  a.zone = "sh001";
  a.env = "dev";
  a.appid = std::move(appid);
  a.hostname = std::move(hostname);
  a.addrs = {"http://10.0.0.1:80"};
  a.metadata = {{"weight", "10"}};
  a.status = registry::kStatusUp;
  return a;
}

std::vector<std::string> hosts(Registry& r, const std::string& appid = "app") {
  std::vector<std::string> out;
  r.read_app("dev", appid, [&](const registry::App& app) {
    for (const auto& [zone, z] : app.zones)
      for (const auto& [host, inst] : z.instances)
        out.push_back(host);
  });
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> files(const fs::path& dir, std::string_view prefix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

class DataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("muster-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A store over `registry`, opened and started; fails the test if it cannot be.
  std::unique_ptr<DataDir> open(Registry& registry, RestoreReport& report, bool start = true) {
    DataDirOptions o;
    o.dir = dir_.string();
    o.compact_min_bytes = compact_min_;
    auto opened = DataDir::open(o, registry, report);
    if (auto* problem = std::get_if<std::string>(&opened)) {
      ADD_FAILURE() << *problem;
      return nullptr;
    }
    auto store = std::move(std::get<std::unique_ptr<DataDir>>(opened));
    if (start) store->start();
    return store;
  }

  SystemClock clock_;
  fs::path dir_;
  size_t compact_min_ = 16 * 1024 * 1024;
};

// The directory as a crash would leave it: its files as they are now, copied to `to`.
void crash_copy(const fs::path& from, const fs::path& to) {
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

TEST_F(DataDirTest, ChangesComeBackAfterACrashWithoutAFinalSnapshot) {
  const fs::path crashed = dir_.string() + "-crashed";
  {
    Registry before(clock_, {});
    RestoreReport report;
    auto store = open(before, report, /*start=*/false);  // no compaction thread: journal only
    ASSERT_TRUE(store);
    for (const char* h : {"h1", "h2", "h3"})
      before.register_instance(args(h));
    auto consul = args("c1", "web");
    consul.lease = false;
    before.register_instance(consul);
    before.cancel({"sh001", "dev", "app", "h2"});
    registry::SetArgs set;
    set.zone = "sh001";
    set.env = "dev";
    set.appid = "app";
    set.hostnames = {"h3"};
    set.statuses = {registry::kStatusDown};
    ASSERT_TRUE(before.set(set).error.empty());
    store->flush();             // as the write path does before it answers
    crash_copy(dir_, crashed);  // kill -9 here: what the kernel has is what is on disk
    store->close();
  }
  fs::remove_all(dir_);
  fs::rename(crashed, dir_);
  Registry after(clock_, {});
  RestoreReport report;
  auto store = open(after, report);
  ASSERT_TRUE(store);
  EXPECT_EQ(report.instances, 3u);
  EXPECT_EQ(report.problems, "");
  EXPECT_EQ(hosts(after), (std::vector<std::string>{"h1", "h3"}));
  EXPECT_EQ(hosts(after, "web"), (std::vector<std::string>{"c1"}));
  after.read_app("dev", "app", [](const registry::App& app) {
    const auto& h3 = app.zones.at("sh001").instances.at("h3");
    EXPECT_EQ(h3.status, registry::kStatusDown) << "the set came back";
    EXPECT_EQ(h3.metadata.size(), 2u);
  });
  after.read_app("dev", "web", [](const registry::App& app) {
    EXPECT_FALSE(app.zones.at("sh001").instances.at("c1").lease) << "still without heartbeat";
  });
}

// A restarted node drops what it restored and no peer that answered its syncup holds, but only
// here: a peer that did not answer (a partition) may still hold it, and the drop must not
// become a cancel that anti-entropy carries to that peer (found by the simulation, seed 552 of
// tests/sim: a Consul registration, which no client registers again, was lost for good).
TEST_F(DataDirTest, DroppingAnUnconfirmedRestoredInstanceLeavesNoCancelMark) {
  {
    Registry before(clock_, {});
    RestoreReport report;
    auto store = open(before, report, /*start=*/false);
    ASSERT_TRUE(store);
    auto consul = args("c1", "web");
    consul.lease = false;
    before.register_instance(consul);
    before.register_instance(args("h1"));
    store->close();
  }
  Registry after(clock_, {});
  RestoreReport report;
  auto store = open(after, report, /*start=*/false);
  ASSERT_TRUE(store);
  ASSERT_EQ(report.instances, 2u);
  int64_t dirty = 0;
  after.read_instance({"sh001", "dev", "web", "c1"},
                      [&](const registry::Instance& inst) { dirty = inst.dirty_timestamp; });
  std::unordered_set<std::string> peer_keys;  // the one peer that answered holds h1 only
  DataDir::add_instance_keys(
      R"({"code":0,"data":{"app":[{"region":"sh","zone":"sh001","env":"dev","appid":"app",)"
      R"("hostname":"h1","addrs":["http://10.0.0.1:80"],"status":1,"dirty_timestamp":1}]}})",
      peer_keys);
  ASSERT_EQ(peer_keys.size(), 1u);
  EXPECT_EQ(store->drop_unconfirmed(peer_keys), 1u);
  EXPECT_TRUE(hosts(after, "web").empty());
  EXPECT_EQ(hosts(after), (std::vector<std::string>{"h1"}));
  const registry::InstanceKey c1{"sh001", "dev", "web", "c1"};
  EXPECT_FALSE(after.cancelled_at(c1).has_value()) << "a mark would cancel the peers' copy";
  // The partitioned peer's copy (the same version) is taken back by anti-entropy.
  auto copy = args("c1", "web");
  copy.lease = false;
  copy.dirty_timestamp = dirty;
  after.register_instance(copy);
  EXPECT_EQ(hosts(after, "web"), (std::vector<std::string>{"c1"}));
}

// The sequence of the newest snapshot in `dir`, 0 when there is none.
uint64_t newest_snapshot(const fs::path& dir) {
  const auto all = files(dir, "snapshot-");
  return all.empty() ? 0 : std::stoull(all.back().filename().string().substr(9));
}

// Waits (bounded) for the start's own compaction, snapshot-2, so that what follows is ordered.
void wait_for_the_start_snapshot(const fs::path& dir) {
  for (int i = 0; i < 100 && newest_snapshot(dir) < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(newest_snapshot(dir), 2u);
}

TEST_F(DataDirTest, ACleanCloseLeavesTheFinalSnapshotAndThePreviousGeneration) {
  {
    Registry before(clock_, {});
    RestoreReport report;
    auto store = open(before, report);
    wait_for_the_start_snapshot(dir_);
    for (int i = 0; i < 100; ++i)
      before.register_instance(args("h" + std::to_string(i)));
    store->close();
  }
  // The start's compaction (snapshot-2) and the final snapshot, with the journal between them:
  // a final snapshot damaged later falls back to them (issue 26).
  EXPECT_EQ(files(dir_, "snapshot-").size(), 2u);
  EXPECT_LE(files(dir_, "journal-").size(), 1u);
  Registry after(clock_, {});
  RestoreReport report;
  auto store = open(after, report);
  EXPECT_EQ(report.instances, 100u);
  EXPECT_EQ(report.problems, "");
  EXPECT_EQ(hosts(after).size(), 100u);
}

TEST_F(DataDirTest, ADamagedNewestSnapshotFallsBackToThePreviousOneAndItsJournals) {
  // Issue 26: halving the newest snapshot of a 99,999-instance node served 50,002 at restart.
  {
    Registry before(clock_, {});
    RestoreReport report;
    auto store = open(before, report);
    wait_for_the_start_snapshot(dir_);
    for (int i = 0; i < 200; ++i)
      before.register_instance(args("h" + std::to_string(i)));
    before.cancel({"sh001", "dev", "app", "h7"});
    store->close();
  }
  const auto snapshots = files(dir_, "snapshot-");
  ASSERT_EQ(snapshots.size(), 2u);
  fs::resize_file(snapshots.back(), fs::file_size(snapshots.back()) / 2);
  Registry after(clock_, {});
  RestoreReport report;
  auto store = open(after, report);
  EXPECT_EQ(report.instances, 199u);
  EXPECT_EQ(hosts(after).size(), 199u);
  EXPECT_NE(report.problems.find("no end record"), std::string::npos) << report.problems;
  EXPECT_NE(report.problems.find("restored from " + snapshots.front().filename().string()),
            std::string::npos)
      << report.problems;
}

TEST_F(DataDirTest, TheJournalIsCompactedIntoASnapshot) {
  compact_min_ = 4096;
  Registry registry(clock_, {});
  RestoreReport report;
  auto store = open(registry, report);
  // The start's own compaction: journal-2 and snapshot-2.
  for (int i = 0; i < 50 && (newest_snapshot(dir_) < 2 || files(dir_, "journal-").size() > 1); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(newest_snapshot(dir_), 2u);
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 20; ++i)
      registry.register_instance(args("h" + std::to_string(i)));  // the same 20, again and again
    store->flush();
  }
  // The journal is far over 4 KiB and over the snapshot (about 7 KiB): the thread compacts it,
  // once or more (a compaction may start between two rounds), until what the store promises
  // holds: two snapshots, the journals from the older on, and the newest journal under 4 KiB or no
  // larger than the snapshot.
  const auto settled = [&] {
    const auto snapshots = files(dir_, "snapshot-");
    const auto journals = files(dir_, "journal-");
    // Two generations: the previous snapshot and its journal, the newest and its own.
    if (snapshots.size() != 2 || journals.size() > 2 || newest_snapshot(dir_) < 3) return false;
    std::error_code ec1, ec2;
    const auto journal = fs::file_size(journals.back(), ec1);
    const auto snapshot = fs::file_size(snapshots.back(), ec2);
    return !ec1 && !ec2 && (journal < 4096 || journal <= snapshot);
  };
  for (int i = 0; i < 80 && !settled(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(settled()) << "newest snapshot " << newest_snapshot(dir_);
  std::error_code ec;
  EXPECT_LT(fs::file_size(files(dir_, "snapshot-").back(), ec), 20u * 1024) << "20 instances";
  store->close();
}

// Leaves in `dir` what a crash would: a snapshot of h0..h9 and a journal adding h10..h19; returns
// the two files.
std::pair<fs::path, fs::path> snapshot_and_journal(const fs::path& dir, const Clock& clock) {
  DataDirOptions o;
  o.dir = dir.string();
  {
    Registry registry(clock, {});
    RestoreReport report;
    auto store = std::move(std::get<std::unique_ptr<DataDir>>(DataDir::open(o, registry, report)));
    for (int i = 0; i < 10; ++i)
      registry.register_instance(args("h" + std::to_string(i)));
    store->close();  // a snapshot of h0..h9
  }
  const fs::path crashed = dir.string() + "-crashed";
  {
    Registry registry(clock, {});
    RestoreReport report;
    auto store = std::move(std::get<std::unique_ptr<DataDir>>(DataDir::open(o, registry, report)));
    for (int i = 10; i < 20; ++i)
      registry.register_instance(args("h" + std::to_string(i)));
    store->flush();
    crash_copy(dir, crashed);  // the journal holds h10..h19
    store->close();
  }
  fs::remove_all(dir);
  fs::rename(crashed, dir);
  return {files(dir, "snapshot-").back(), files(dir, "journal-").back()};
}

TEST_F(DataDirTest, ATruncatedJournalLosesOnlyItsLastRecord) {
  auto [snapshot, journal] = snapshot_and_journal(dir_, clock_);
  fs::resize_file(journal, fs::file_size(journal) - 10);
  Registry after(clock_, {});
  RestoreReport report;
  auto store = open(after, report);
  EXPECT_EQ(report.instances, 19u);
  EXPECT_NE(report.problems.find("ends inside a record"), std::string::npos) << report.problems;
  EXPECT_EQ(hosts(after).size(), 19u);
}

TEST_F(DataDirTest, ACorruptedSnapshotLosesOnlyTheRecordsItTouches) {
  auto [snapshot, journal] = snapshot_and_journal(dir_, clock_);
  {
    std::fstream f(snapshot, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(snapshot) / 2));
    f.write("\x01\x02\x03\x04", 4);
  }
  Registry after(clock_, {});
  RestoreReport report;
  auto store = open(after, report);
  EXPECT_EQ(report.instances, 19u) << "one of the snapshot's ten is lost";
  EXPECT_EQ(report.damaged, 1u);
  EXPECT_NE(report.problems.find("damaged"), std::string::npos) << report.problems;
}

TEST_F(DataDirTest, ASnapshotCutShortIsUsedAndSaidIncomplete) {
  auto [snapshot, journal] = snapshot_and_journal(dir_, clock_);
  fs::resize_file(snapshot, fs::file_size(snapshot) / 2);
  Registry after(clock_, {});
  RestoreReport report;
  auto store = open(after, report);
  EXPECT_GE(report.instances, 10u + 3u) << "the journal's ten and what the half snapshot holds";
  EXPECT_NE(report.problems.find("no end record"), std::string::npos) << report.problems;
}

TEST_F(DataDirTest, ASecondStoreIsKeptOut) {
  Registry one(clock_, {}), two(clock_, {});
  RestoreReport report;
  auto store = open(one, report, /*start=*/false);  // no snapshot of its own yet
  DataDirOptions o;
  o.dir = dir_.string();
  auto second = DataDir::open(o, two, report);
  ASSERT_TRUE(std::holds_alternative<std::string>(second));
  EXPECT_NE(std::get<std::string>(second).find("in use by another muster process"),
            std::string::npos);
  EXPECT_EQ(files(dir_, "snapshot-").size(), 0u) << "the refused store wrote nothing";
  store->close();
}

TEST_F(DataDirTest, ADiskThatRefusesWritesLeavesTheRegistryServing) {
  Registry registry(clock_, {});
  RestoreReport report;
  auto store = open(registry, report, /*start=*/false);
  // A file size limit stands for a full disk: writes past it fail (EFBIG).
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  rlimit small = old;
  small.rlim_cur = 4096;
  ::setrlimit(RLIMIT_FSIZE, &small);
  for (int i = 0; i < 100; ++i) {
    registry.register_instance(args("h" + std::to_string(i)));
    store->flush();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  EXPECT_FALSE(store->healthy());
  EXPECT_EQ(hosts(registry).size(), 100u) << "served from memory";
  metrics::TextWriter w;
  store->write_metrics(w);
  EXPECT_NE(w.take().find("muster_data_dir_healthy 0"), std::string::npos);
  // With room again, the next snapshot brings the directory up to date.
  store->start();
  for (int i = 0; i < 80 && !store->healthy(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(store->healthy());
  store.reset();  // its lock too
  Registry after(clock_, {});
  RestoreReport again;
  auto reopened = open(after, again);
  EXPECT_EQ(again.instances, 100u);
}

// Issue 27.8: damage costs only what it touches, stray names are ignored, the files are the
// operator's alone, and a journal removed under a running node is noticed and repaired.
TEST_F(DataDirTest, AFlippedLengthCostsOneRecordAndTheDamagedFileIsKeptAside) {
  const fs::path crashed = dir_.string() + "-crashed";
  {
    Registry before(clock_, {});
    RestoreReport report;
    auto store = open(before, report, /*start=*/false);  // journal only
    for (int i = 0; i < 200; ++i)
      before.register_instance(args("h" + std::to_string(i)));
    store->flush();
    crash_copy(dir_, crashed);
  }
  fs::remove_all(dir_);
  fs::rename(crashed, dir_);
  const auto journals = files(dir_, "journal-");
  ASSERT_EQ(journals.size(), 1u);
  {
    std::fstream f(journals[0], std::ios::in | std::ios::out | std::ios::binary);
    // The first record's length, third byte: about 1 MB, under the largest record a reader
    // takes, and past the end of this 60 KB file.
    f.seekp(6);
    f.put(static_cast<char>(0x0f));
  }
  Registry after(clock_, {});
  RestoreReport report;
  auto store = open(after, report);
  EXPECT_EQ(report.instances, 199u) << report.problems;  // it was 0: "a write cut short"
  EXPECT_EQ(report.damaged, 1u);
  const fs::path aside = journals[0].string() + ".damaged";
  EXPECT_TRUE(fs::exists(aside)) << report.problems;
  EXPECT_NE(report.problems.find("kept as " + aside.filename().string()), std::string::npos)
      << report.problems;
  store->close();  // compactions and the final snapshot leave it
  EXPECT_TRUE(fs::exists(aside));
}

TEST_F(DataDirTest, StrayNamesAreIgnoredAndTheFilesAreTheOwnersAlone) {
  {
    Registry before(clock_, {});
    RestoreReport report;
    auto store = open(before, report);
    for (int i = 0; i < 20; ++i)
      before.register_instance(args("h" + std::to_string(i)));
    store->close();
  }
  EXPECT_EQ(fs::status(dir_).permissions() & fs::perms::all, fs::perms::owner_all);
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.status().permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write)
        << e.path();
  std::ofstream(dir_ / "snapshot-18446744073709551615").flush();  // empty, the last sequence
  for (int restart = 0; restart < 2; ++restart) {
    Registry after(clock_, {});
    RestoreReport report;
    auto store = open(after, report);
    EXPECT_EQ(report.instances, 20u) << "restart " << restart << ": " << report.problems;
    EXPECT_NE(report.problems.find("snapshot-18446744073709551615: not a file of this node's "
                                   "sequence, ignored"),
              std::string::npos)
        << report.problems;
    store->close();
  }
}

TEST_F(DataDirTest, AJournalRemovedUnderTheNodeIsNoticedAndRepaired) {
  Registry registry(clock_, {});
  RestoreReport report;
  auto store = open(registry, report);
  wait_for_the_start_snapshot(dir_);
  for (int i = 0; i < 50; ++i)
    registry.register_instance(args("h" + std::to_string(i)));
  store->flush();
  for (const auto& j : files(dir_, "journal-"))
    fs::remove(j);
  for (int i = 0; i < 50 && store->healthy(); ++i)  // checked every 2 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(store->healthy()) << "the removal is noticed";
  for (int i = 0; i < 100 && !store->healthy(); ++i)  // a snapshot is tried every 5 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(store->healthy()) << "and repaired by a new snapshot";
  const fs::path crashed = dir_.string() + "-crashed";
  crash_copy(dir_, crashed);  // kill -9 now: no final snapshot
  store.reset();
  fs::remove_all(dir_);
  fs::rename(crashed, dir_);
  Registry after(clock_, {});
  RestoreReport again;
  auto reopened = open(after, again);
  EXPECT_EQ(again.instances, 50u) << again.problems;
}

}  // namespace
}  // namespace muster::store
