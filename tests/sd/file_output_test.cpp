// The file_sd output directory across a restart: what a previous run left there.
#include "sd/file_output.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "temp_dir.h"

namespace muster::sd {
namespace {

class SdFileOutput : public testing::InTempDir {
 protected:
  SdFileOutput() : InTempDir("out") {}
  void put(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  static std::shared_ptr<const std::string> doc(std::string text) {
    return std::make_shared<const std::string>(std::move(text));
  }
};

TEST_F(SdFileOutput, WritesOnlyWhatChangedAndEmptiesARemovedJob) {
  FileOutput out(dir_.string());
  EXPECT_EQ(out.write({{"a", doc("[1]")}, {"b", doc("[2]")}}), "");
  EXPECT_EQ(out.writes.value(), 2u);
  EXPECT_EQ(out.write({{"a", doc("[1]")}, {"b", doc("[3]")}}), "");
  EXPECT_EQ(out.writes.value(), 3u);
  EXPECT_EQ(read("b.json"), "[3]");
  EXPECT_EQ(out.write({{"b", doc("[3]")}}), "");
  EXPECT_EQ(read("a.json"), "[]");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "a.json.tmp"));
}

// After a restart: an unchanged job is not rewritten (no event for Prometheus), a held job keeps
// the last run's targets, a job no longer configured is emptied rather than left stale.
TEST_F(SdFileOutput, APreviousRunsFilesAreTakenAsWritten) {
  put("same.json", "[1]");
  put("held.json", "[2]");
  put("gone.json", "[3]");
  put("notes.txt", "not ours to touch");
  put(".muster-sd-files", "same\nheld\ngone\n");  // what that run wrote
  FileOutput out(dir_.string());
  EXPECT_EQ(out.write({{"same", doc("[1]")}}, {"held"}), "");
  EXPECT_EQ(out.writes.value(), 1u);
  EXPECT_EQ(read("same.json"), "[1]");
  EXPECT_EQ(read("held.json"), "[2]");
  EXPECT_EQ(read("gone.json"), "[]");
  EXPECT_EQ(read("notes.txt"), "not ours to touch");
  // Once discovered, the held job's file follows.
  EXPECT_EQ(out.write({{"same", doc("[1]")}, {"held", doc("[4]")}}), "");
  EXPECT_EQ(read("held.json"), "[4]");
}

// Issue 15.7: a directory that holds files muster sd did not write keeps them as they are.
TEST_F(SdFileOutput, FilesItDidNotWriteAreNeverTouched) {
  put("important.json", "[{\"targets\":[\"db:9100\"]}]");
  put("clash.json", "theirs");
  FileOutput out(dir_.string());
  const std::string problem = out.write({{"web", doc("[1]")}, {"clash", doc("[2]")}});
  EXPECT_NE(problem.find("clash.json was not written by muster sd"), std::string::npos) << problem;
  EXPECT_EQ(read("important.json"), "[{\"targets\":[\"db:9100\"]}]");
  EXPECT_EQ(read("clash.json"), "theirs");
  EXPECT_EQ(read("web.json"), "[1]");
  EXPECT_EQ(read(".muster-sd-files"), "web\n");
  // A later run knows its own files from the manifest, and still leaves the others alone.
  FileOutput again(dir_.string());
  EXPECT_EQ(again.write({}), "");
  EXPECT_EQ(read("web.json"), "[]");
  EXPECT_EQ(read("important.json"), "[{\"targets\":[\"db:9100\"]}]");
}

TEST_F(SdFileOutput, AnUnwritableDirectoryIsAnErrorThatSaysWhere) {
  FileOutput out((dir_ / "missing").string());
  const std::string problem = out.write({{"a", doc("[]")}});
  EXPECT_NE(problem.find("cannot create"), std::string::npos) << problem;
  EXPECT_NE(problem.find("missing/.muster-sd-files.tmp: No such file or directory"),
            std::string::npos)
      << problem;
  EXPECT_EQ(out.failures.value(), 1u);
}

// A discovered job gone long enough: its file and its manifest line go; others' files stay.
TEST_F(SdFileOutput, AForgottenJobsFileIsRemovedOnlyIfItsOwn) {
  put("foreign.json", "[9]");
  FileOutput out(dir_.string());
  EXPECT_EQ(out.write({{"a", doc("[1]")}}), "");
  EXPECT_EQ(out.write({}), "");
  EXPECT_EQ(read("a.json"), "[]");
  EXPECT_EQ(out.forget("a"), "");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "a.json"));
  EXPECT_FALSE(out.owned().contains("a"));
  EXPECT_EQ(read(".muster-sd-files"), "");
  EXPECT_EQ(out.forget("foreign"), "");
  EXPECT_EQ(read("foreign.json"), "[9]");
}

}  // namespace
}  // namespace muster::sd
