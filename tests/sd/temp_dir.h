#pragma once
// A fresh directory per test for the sd tests that read or write files: named after the test (a
// failed run leaves evidence that says whose it is) and removed afterwards.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace muster::sd::testing {

class InTempDir : public ::testing::Test {
 protected:
  explicit InTempDir(std::string kind) : kind_(std::move(kind)) {}
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("muster-" + kind_ + "-sd-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The whole of a file under the directory; "" if it cannot be read.
  std::string read(const std::filesystem::path& relative) const {
    std::ifstream in(dir_ / relative, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::filesystem::path dir_;

 private:
  std::string kind_;
};

}  // namespace muster::sd::testing
