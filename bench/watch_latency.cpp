// End-to-end watch latency (issue 4): from sending a register to a real node until the change is
// seen, p50 and p99 over many changes. Two watchers of the same node in the same run:
//   - Resolver: libmuster's Resolver callback (one long-poll loop, parse, filter, callback);
//   - RawPoll:  the least a client can do, a blocking socket re-sending GET /discovery/polls and
//               looking for the new hostname in the answer's bytes (the node's own floor).
// Each iteration registers a new hostname and times until the watcher has it; cancelling it
// afterwards is not timed. Google Benchmark with manual time; run `build/bench/watch_latency`.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "muster/resolver.h"
#include "sdk/real_node.h"

namespace {

using clock_type = std::chrono::steady_clock;
using muster::testing::http;
using muster::testing::RealNode;

RealNode& node() {
  static RealNode n(muster::testing::free_port());
  return n;
}

std::string form(const std::string& hostname) {
  return "region=sh&zone=sh001&env=dev&appid=bench&status=1&hostname=" + hostname +
         "&addrs=http%3A%2F%2F127.0.0.1%3A9000";
}

// Waits until `has(hostname)` holds; the time it first held is what the watcher recorded.
class Seen {
 public:
  void note(const std::string& text) {
    std::lock_guard lock(mu_);
    text_ = text;
    at_ = clock_type::now();
    cv_.notify_all();
  }
  // The time the watcher first saw `hostname` (its text contained it), or nullopt after 5 s.
  std::optional<clock_type::time_point> wait_for(const std::string& hostname, bool present) {
    std::unique_lock lock(mu_);
    const bool ok = cv_.wait_for(lock, std::chrono::seconds(5), [&] {
      return (text_.find("\"" + hostname + "\"") != std::string::npos) == present;
    });
    if (!ok) return std::nullopt;
    return at_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
  clock_type::time_point at_;
};

// The timed loop shared by both watchers.
void measure(benchmark::State& state, Seen& seen) {
  std::vector<double> samples;
  int n = 0;
  for (auto _ : state) {
    const std::string hostname = "h" + std::to_string(++n);
    const auto start = clock_type::now();
    http(node().port(), "POST", "/discovery/register", form(hostname));
    const auto at = seen.wait_for(hostname, true);
    if (!at) {
      state.SkipWithError("the watcher did not see the change within 5 s");
      break;
    }
    const double seconds = std::chrono::duration<double>(*at - start).count();
    state.SetIterationTime(seconds);
    samples.push_back(seconds * 1e6);
    http(node().port(), "POST", "/discovery/cancel",
         "zone=sh001&env=dev&appid=bench&hostname=" + hostname);
    seen.wait_for(hostname, false);
  }
  if (samples.empty()) return;
  std::sort(samples.begin(), samples.end());
  state.counters["p50_us"] = samples[samples.size() / 2];
  state.counters["p99_us"] = samples[std::min(samples.size() - 1, samples.size() * 99 / 100)];
}

void BM_WatchLatency_Resolver(benchmark::State& state) {
  http(node().port(), "POST", "/discovery/register", form("base"));  // the app exists throughout
  muster::ClientOptions o;
  o.nodes = {node().addr()};
  o.zone = "sh001";
  o.env = "dev";
  o.hostname = "bench-client";
  muster::Client client(o);
  muster::Resolver resolver(client);
  Seen seen;
  muster::WatchOptions w;
  w.keep_last_on_empty = false;
  resolver.subscribe("bench", w, [&](const std::vector<muster::Instance>& list) {
    std::string names;
    for (const auto& i : list)
      names += "\"" + i.hostname + "\"";
    seen.note(names);
  });
  if (!seen.wait_for("base", true)) state.SkipWithError("no first list");
  measure(state, seen);
}

// A blocking long-poll loop on one socket: send, read one answer, look at its bytes, repeat.
void BM_WatchLatency_RawPoll(benchmark::State& state) {
  http(node().port(), "POST", "/discovery/register", form("base"));
  Seen seen;
  std::atomic<bool> stop{false};
  std::thread poller([&] {
    int64_t latest = 0;
    for (int rounds = 0; !stop && rounds < 1'000'000; ++rounds) {
      const std::string body =
          http(node().port(), "GET",
               "/discovery/polls?env=dev&hostname=raw&appid=bench&latest_timestamp=" +
                   std::to_string(latest));
      const size_t at = body.rfind("\"latest_timestamp\":");
      if (body.find("\"code\":0") == std::string::npos || at == std::string::npos) continue;
      latest = std::atoll(body.c_str() + at + 19);
      seen.note(body);
    }
  });
  if (!seen.wait_for("base", true)) state.SkipWithError("no first answer");
  measure(state, seen);
  stop = true;
  // Wake the parked poll so that the thread sees `stop`.
  http(node().port(), "POST", "/discovery/register", form("wake"));
  poller.join();
  http(node().port(), "POST", "/discovery/cancel", "zone=sh001&env=dev&appid=bench&hostname=wake");
}

BENCHMARK(BM_WatchLatency_RawPoll)
    ->UseManualTime()
    ->Iterations(1000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WatchLatency_Resolver)
    ->UseManualTime()
    ->Iterations(1000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
