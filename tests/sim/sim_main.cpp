// The cluster simulation's command (tests/sim/sim_cluster.h): runs seeds and prints each failing
// seed with its schedule and the command that replays it.
//   cluster_sim --seeds 1000              seeds 1..1000, two simulated minutes each (make test)
//   cluster_sim --first 5000 --seeds 20000 --minutes 10   a longer run (make sim)
//   cluster_sim --seed 17 --verbose       replays seed 17, printing its schedule as it runs
//   cluster_sim --skew 3000 ...           nodes' wall clocks start up to 50 minutes apart
//   cluster_sim --guard ...               the nodes run the self-protection guard
//   cluster_sim --fresh-leases ...        the wire without leases, as before issue 26
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sim/sim_cluster.h"

int main(int argc, char** argv) {
  muster::sim::SimOptions options;
  uint64_t first = 1, seeds = 100;
  double minutes = 2;
  bool expect_failure = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "cluster_sim: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seeds") {
      seeds = std::strtoull(value(), nullptr, 10);
    } else if (a == "--first") {
      first = std::strtoull(value(), nullptr, 10);
    } else if (a == "--seed") {
      first = std::strtoull(value(), nullptr, 10);
      seeds = 1;
    } else if (a == "--minutes") {
      minutes = std::strtod(value(), nullptr);
    } else if (a == "--guard") {
      options.guard = true;
    } else if (a == "--skew") {
      options.start_skew = std::chrono::seconds(std::atoll(value()));
    } else if (a == "--clients") {
      options.clients = std::atoi(value());
    } else if (a == "--verbose") {
      options.verbose = true;
    } else if (a == "--fresh-leases") {
      options.fresh_leases = true;
    } else if (a == "--expect-failure") {
      expect_failure = true;  // the run passes when some seed fails (the rules are broken)
    } else {
      std::fprintf(stderr, "cluster_sim: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (seeds == 0 || seeds > 10'000'000 || minutes <= 0 || minutes > 600) {
    std::fprintf(stderr, "cluster_sim: --seeds 1..10000000, --minutes up to 600\n");
    return 2;
  }
  options.duration = std::chrono::nanoseconds(static_cast<int64_t>(minutes * 60e9));
  const auto started = std::chrono::steady_clock::now();
  uint64_t failed = 0, ops = 0, faults = 0, quiet = 0, indexes = 0, critical = 0, protecting = 0,
           messages = 0;
  for (uint64_t seed = first; seed < first + seeds; ++seed) {
    options.seed = seed;
    const auto r = muster::sim::run_simulation(options);
    ops += r.client_ops;
    faults += r.faults;
    quiet += r.quiet_checks;
    indexes += r.index_checks;
    critical += r.critical_checks;
    protecting += r.protecting_runs;
    messages += r.messages;
    if (r.ok) continue;
    ++failed;
    if (failed <= 3 || options.verbose) {
      std::printf("seed %llu FAILED %s\nschedule:\n", static_cast<unsigned long long>(seed),
                  r.failure.c_str());
      const size_t from = r.schedule.size() > 60 ? r.schedule.size() - 60 : 0;
      if (from > 0) std::printf("  (%zu earlier events left out)\n", from);
      for (size_t i = from; i < r.schedule.size(); ++i)
        std::printf("  %s\n", r.schedule[i].c_str());
      const std::string skew =
          options.start_skew.count() > 0
              ? " --skew " + std::to_string(options.start_skew.count() / 1'000'000'000)
              : "";
      std::printf("replay: %s --seed %llu --minutes %g%s%s%s --verbose\n\n", argv[0],
                  static_cast<unsigned long long>(seed), minutes, skew.c_str(),
                  options.guard ? " --guard" : "", options.fresh_leases ? " --fresh-leases" : "");
    }
    if (expect_failure) break;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "cluster_sim: %llu seeds from %llu, %g simulated minutes each: %llu failed; %llu client "
      "operations, %llu faults, %llu quiet points checked (%llu new Consul indexes agreed, %llu "
      "critical checks seen down on every node, %llu eviction runs protecting or capped), %llu "
      "messages; "
      "%.1f s\n",
      static_cast<unsigned long long>(seeds), static_cast<unsigned long long>(first), minutes,
      static_cast<unsigned long long>(failed), static_cast<unsigned long long>(ops),
      static_cast<unsigned long long>(faults), static_cast<unsigned long long>(quiet),
      static_cast<unsigned long long>(indexes), static_cast<unsigned long long>(critical),
      static_cast<unsigned long long>(protecting), static_cast<unsigned long long>(messages), secs);
  if (expect_failure) return failed > 0 ? 0 : 1;
  return failed == 0 ? 0 : 1;
}
