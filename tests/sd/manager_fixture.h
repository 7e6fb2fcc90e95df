#pragma once
// The manager on one io_context with providers the test drives, for the manager tests.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <set>
#include <stdexcept>

#include "sd/manager.h"
#include "sd/providers/file_provider.h"
#include "sd/providers/static_provider.h"

namespace muster::sd::testing {

using namespace std::chrono_literals;

// A provider the test drives: it remembers its sender; send() is called by the test. Its stop is
// recorded outside it, since the manager destroys a provider it stops.
struct FakeProvider : Provider {
  explicit FakeProvider(std::set<std::string>* stopped_names = nullptr, std::string name = "")
      : stopped_names(stopped_names), name(std::move(name)) {}
  void start(Send s) override {
    send = std::move(s);
    ++starts;
  }
  void stop() override {
    stopped = true;
    if (stopped_names) stopped_names->insert(name);
  }
  std::set<std::string>* stopped_names;
  std::string name;
  Send send;
  int starts = 0;
  bool stopped = false;
};

struct Fixture {
  boost::asio::io_context io;
  std::vector<Snapshot> sent;
  std::map<std::string, FakeProvider*> fakes;  // by provider name
  int made = 0, refused = 0;
  std::set<std::string> refuse;   // file patterns whose provider cannot be made
  std::set<std::string> stopped;  // names of fake providers stopped
  std::vector<Delta> deltas;
  Snapshot state;  // the deltas applied in turn: what a consumer holds
  Manager manager{io, 0ms, [this](const Delta& d) { consume(d); },
                  [this](const ProviderConfig& c, ProviderContext ctx) -> MadeProvider {
                    ++made;
                    if (auto* s = c.get_if<StaticConfig>())
                      return std::make_unique<StaticProvider>(s->groups);
                    if (auto* f = c.get_if<FileConfig>(); f && refuse.contains(f->files[0])) {
                      ++refused;
                      return std::string("refused");
                    }
                    auto p = std::make_unique<FakeProvider>(&stopped, ctx.name);
                    fakes[ctx.name] = p.get();
                    return p;
                  }};

  void consume(const Delta& d) {
    deltas.push_back(d);
    for (const auto& [job, groups] : d.changed)
      state[job] = groups;
    for (auto it = state.begin(); it != state.end();)
      it = d.jobs.contains(it->first) ? std::next(it) : state.erase(it);
    sent.push_back(state);
  }
  void settle() {
    io.restart();
    io.poll();
  }
  const Snapshot& last() {
    if (sent.empty()) throw std::runtime_error("nothing sent");
    return sent.back();
  }
};

inline JobConfig static_job(std::string name, std::vector<std::string> targets) {
  TargetGroup g;
  g.source = "0";
  for (auto& t : targets)
    g.targets.push_back({{"__address__", t}});
  return {std::move(name), {StaticConfig{{g}}}};
}

inline JobConfig file_job(std::string name, std::string pattern) {
  return {std::move(name), {FileConfig{{std::move(pattern)}, 5min}}};
}

inline TargetGroup group(std::string source, std::vector<std::string> targets) {
  TargetGroup g;
  g.source = std::move(source);
  for (auto& t : targets)
    g.targets.push_back({{"__address__", t}});
  return g;
}

inline std::vector<std::string> addresses(const SharedGroups& groups) {
  std::vector<std::string> out;
  for (const auto& g : groups)
    for (const auto& t : g->targets)
      out.emplace_back(t.at("__address__"));
  return out;
}

inline std::vector<std::string> names(const Manager& m) {
  std::vector<std::string> out;
  for (const auto& p : m.providers())
    out.push_back(p.name);
  return out;
}

}  // namespace muster::sd::testing
