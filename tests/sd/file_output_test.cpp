// The file_sd output directory across a restart: what a previous run left there.
#include "sd/file_output.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace muster::sd {
namespace {

class SdFileOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("muster-sd-out-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void put(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::string get(const std::string& name) {
    std::ifstream in(dir_ / name);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static std::shared_ptr<const std::string> doc(std::string text) {
    return std::make_shared<const std::string>(std::move(text));
  }

  std::filesystem::path dir_;
};

TEST_F(SdFileOutput, WritesOnlyWhatChangedAndEmptiesARemovedJob) {
  FileOutput out(dir_.string());
  EXPECT_EQ(out.write({{"a", doc("[1]")}, {"b", doc("[2]")}}), "");
  EXPECT_EQ(out.writes.value(), 2u);
  EXPECT_EQ(out.write({{"a", doc("[1]")}, {"b", doc("[3]")}}), "");
  EXPECT_EQ(out.writes.value(), 3u);
  EXPECT_EQ(get("b.json"), "[3]");
  EXPECT_EQ(out.write({{"b", doc("[3]")}}), "");
  EXPECT_EQ(get("a.json"), "[]");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "a.json.tmp"));
}

// After a restart: an unchanged job is not rewritten (no event for Prometheus), a held job keeps
// the last run's targets, a job no longer configured is emptied rather than left stale.
TEST_F(SdFileOutput, APreviousRunsFilesAreTakenAsWritten) {
  put("same.json", "[1]");
  put("held.json", "[2]");
  put("gone.json", "[3]");
  put("notes.txt", "not ours to touch");
  FileOutput out(dir_.string());
  EXPECT_EQ(out.write({{"same", doc("[1]")}}, {"held"}), "");
  EXPECT_EQ(out.writes.value(), 1u);
  EXPECT_EQ(get("same.json"), "[1]");
  EXPECT_EQ(get("held.json"), "[2]");
  EXPECT_EQ(get("gone.json"), "[]");
  EXPECT_EQ(get("notes.txt"), "not ours to touch");
  // Once discovered, the held job's file follows.
  EXPECT_EQ(out.write({{"same", doc("[1]")}, {"held", doc("[4]")}}), "");
  EXPECT_EQ(get("held.json"), "[4]");
}

TEST_F(SdFileOutput, AnUnwritableDirectoryIsAnErrorThatSaysWhere) {
  FileOutput out((dir_ / "missing").string());
  const std::string problem = out.write({{"a", doc("[]")}});
  EXPECT_NE(problem.find("cannot create"), std::string::npos) << problem;
  EXPECT_NE(problem.find("missing/a.json.tmp"), std::string::npos) << problem;
  EXPECT_EQ(out.failures.value(), 1u);
}

}  // namespace
}  // namespace muster::sd
