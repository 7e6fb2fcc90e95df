// exec_sd with real commands (sh scripts in a temporary directory).
#include "sd/providers/exec_provider.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "provider_harness.h"

namespace muster::sd {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ExecProviderTest : public testing::ProviderInTempDir {
 protected:
  ExecProviderTest() : ProviderInTempDir("exec") {}
  // A script printing `out`, exiting with `code`; `extra` runs first.
  std::string script(const std::string& name, const std::string& body) {
    const std::string p = (dir_ / name).string();
    std::ofstream f(p);
    f << "#!/bin/sh\n" << body << "\n";
    f.close();
    fs::permissions(p, fs::perms::owner_all);
    return p;
  }
  void start(std::vector<std::string> command, milliseconds interval = 1h,
             milliseconds timeout = 10s) {
    provider_ = make_provider(ExecConfig{std::move(command), interval, timeout}, h_.context());
    provider_->start(h_.sender());
  }
};

TEST_F(ExecProviderTest, PrintedGroupsBecomeTargets) {
  const auto s = script("cmdb",
                        "echo '[{\"targets\":[\"10.0.0.1:9100\"],\"labels\":{\"rack\":\"r1\"}}]'\n"
                        "echo 'a warning' >&2");
  start({s, "--ignored-arg"});
  ASSERT_TRUE(h_.run_until([&] { return !h_.batches.empty(); }));
  ASSERT_EQ(h_.merged.size(), 1u);
  const auto& g = h_.merged.at("0");
  EXPECT_EQ(g.targets[0].at("__address__"), "10.0.0.1:9100");
  EXPECT_EQ(g.labels.at("rack"), "r1");
  EXPECT_EQ(g.labels.at("__meta_exec_command"), s + " --ignored-arg");
}

TEST_F(ExecProviderTest, ArgumentsArePassedWithoutAShell) {
  const auto s = script("echoarg", "printf '[{\"targets\":[\"%s\"]}]' \"$1\"");
  start({s, "a b:1"});
  ASSERT_TRUE(h_.run_until([&] { return !h_.batches.empty(); }));
  EXPECT_EQ(h_.addresses(), (std::vector<std::string>{"a b:1"}));
}

TEST_F(ExecProviderTest, FailureKeepsTheLastTargets) {
  const std::string flag = (dir_ / "fail").string();
  const auto s = script("flaky", "if [ -e " + flag +
                                     " ]; then echo broken >&2; exit 3; fi\n"
                                     "echo '[{\"targets\":[\"a:1\"]},{\"targets\":[\"b:1\"]}]'");
  start({s}, 100ms);
  ASSERT_TRUE(h_.run_until([&] { return h_.merged.size() == 2; }));
  std::ofstream(flag).put('x');
  ASSERT_TRUE(h_.run_until([&] { return h_.stats->failures.value() >= 2; }));
  EXPECT_EQ(h_.merged.size(), 2u);
  fs::remove(flag);
  const size_t before = h_.batches.size();
  ASSERT_TRUE(h_.run_until([&] { return h_.batches.size() > before; }));
  EXPECT_EQ(h_.merged.size(), 2u);
}

TEST_F(ExecProviderTest, BadOutputIsAFailure) {
  start({script("bad", "echo '[null]'")});
  ASSERT_TRUE(h_.run_until([&] { return h_.stats->failures.value() == 1; }));
  EXPECT_TRUE(h_.batches.empty());
}

// The output is read as a stream: a document of many pipe-fulls reads whole, and a command that
// goes on printing after its document went bad is drained to its end (it does not block on a full
// pipe until its timeout) and fails as a bad document.
TEST_F(ExecProviderTest, ALargeOutputIsReadAsItComes) {
  start({script("many",
                "printf '['; i=0; while [ $i -lt 20000 ]; do "
                "[ $i -gt 0 ] && printf ','; printf '{\"targets\":[\"h%d:1\"]}' $i; "
                "i=$((i+1)); done; printf ']'")});
  ASSERT_TRUE(h_.run_until([&] { return !h_.batches.empty(); }, 60s));
  EXPECT_EQ(h_.merged.size(), 20000u);
  EXPECT_EQ(h_.merged.at("19999").targets[0].at("__address__"), "h19999:1");
}

TEST_F(ExecProviderTest, OutputPastABadStartIsDrained) {
  start({script("noisy", "echo '[null,'; head -c 3000000 /dev/zero | tr '\\0' 'x'")}, 1h, 30s);
  ASSERT_TRUE(h_.run_until([&] { return h_.stats->failures.value() == 1; }, 20s));
  EXPECT_TRUE(h_.batches.empty());
}

TEST_F(ExecProviderTest, MissingCommandIsAFailure) {
  start({(dir_ / "no-such-command").string()});
  ASSERT_TRUE(h_.run_until([&] { return h_.stats->failures.value() == 1; }));
  EXPECT_TRUE(h_.batches.empty());
}

TEST_F(ExecProviderTest, CommandFoundOnThePath) {
  start({"sh", "-c", "echo '[{\"targets\":[\"p:1\"]}]'"});
  ASSERT_TRUE(h_.run_until([&] { return !h_.batches.empty(); }));
  EXPECT_EQ(h_.addresses(), (std::vector<std::string>{"p:1"}));
}

TEST_F(ExecProviderTest, TimeoutKillsTheCommandAndWhatItStarted) {
  const std::string pids = (dir_ / "pids").string();
  // The script starts a grandchild that holds stdout open, then sleeps itself.
  const auto s =
      script("slow", "sleep 30 & echo $! > " + pids + "\necho $$ >> " + pids + "\nsleep 30");
  const auto began = std::chrono::steady_clock::now();
  start({s}, 1h, 300ms);
  ASSERT_TRUE(h_.run_until([&] { return h_.stats->failures.value() == 1; }));
  EXPECT_LT(std::chrono::steady_clock::now() - began, 10s);  // not the 30 s of the sleeps
  EXPECT_TRUE(h_.batches.empty());
  std::ifstream in(pids);
  pid_t pid = 0;
  int gone = 0, seen = 0;
  // Gone, or a zombie waiting for whoever inherited it (PID 1 in a container may never reap).
  auto dead = [](pid_t p) {
    std::ifstream stat("/proc/" + std::to_string(p) + "/stat");
    std::string pid_field, comm, state;
    if (!(stat >> pid_field >> comm >> state)) return true;
    return state == "Z";
  };
  while (in >> pid) {
    ++seen;
    for (int i = 0; i < 100 && !dead(pid); ++i)
      std::this_thread::sleep_for(20ms);
    gone += dead(pid);
  }
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(gone, 2);
}

}  // namespace
}  // namespace muster::sd
