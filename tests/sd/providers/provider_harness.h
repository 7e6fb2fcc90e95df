#pragma once
// Runs one provider on an io_context and keeps what it sends, for the provider tests.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>

#include "../temp_dir.h"
#include "sd/provider.h"

namespace muster::sd::testing {

struct Harness {
  boost::asio::io_context io;
  std::shared_ptr<ProviderStats> stats = std::make_shared<ProviderStats>();
  std::vector<Groups> batches;
  // Every group received, merged by source (as text) as the manager does (an empty group deletes).
  std::map<std::string, TargetGroup> merged;

  ProviderContext context(std::string name = "test/0") { return {io, stats, std::move(name)}; }
  Provider::Send sender() {
    return [this](Groups groups) {
      for (const auto& g : groups) {
        if (g.targets.empty())
          merged.erase(g.source.str());
        else
          merged[g.source.str()] = g;
      }
      batches.push_back(std::move(groups));
    };
  }
  // Runs the loop until `done` holds, for at most `limit`; returns done().
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) {
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
    return done();
  }
  // Runs the loop for `d` whatever happens.
  void run_for(std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
  }
  std::vector<std::string> addresses() const {
    std::vector<std::string> out;
    for (const auto& [source, g] : merged)
      for (const auto& t : g.targets)
        out.emplace_back(t.at("__address__"));
    return out;
  }
};

// A fixture for providers that read files: a fresh directory per test, removed with the
// provider stopped.
class ProviderInTempDir : public InTempDir {
 protected:
  explicit ProviderInTempDir(std::string kind) : InTempDir(std::move(kind)) {}
  void TearDown() override {
    if (provider_) provider_->stop();
    InTempDir::TearDown();
  }

  Harness h_;
  std::unique_ptr<Provider> provider_;
};

}  // namespace muster::sd::testing
