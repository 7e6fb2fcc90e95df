// Micro benchmarks of the registry's hot paths, in process (no HTTP): renew, register of a new
// identity, and rendering a fetch answer of 100 instances.
#include <benchmark/benchmark.h>

#include "api/render.h"
#include "registry/registry.h"

namespace {

using namespace muster;
using namespace muster::registry;

RegisterArgs instance(int i, int apps) {
  RegisterArgs a;
  a.region = "sh";
  a.zone = "sh001";
  a.env = "prod";
  a.appid = "app" + std::to_string(i % apps);
  a.hostname = "host-" + std::to_string(i);
  a.addrs = {"http://10.0.0.1:8000", "grpc://10.0.0.1:9000"};
  a.version = "v1";
  a.metadata = {{"weight", "10"}, {"cluster", "c1"}};
  return a;
}

void BM_Renew(benchmark::State& state) {
  SystemClock clock;
  Registry registry(clock, {});
  const int n = static_cast<int>(state.range(0));
  for (int i = 0; i < n; ++i)
    registry.register_instance(instance(i, 1000));
  std::vector<std::string> hosts, apps;
  for (int i = 0; i < n; ++i) {
    hosts.push_back("host-" + std::to_string(i));
    apps.push_back("app" + std::to_string(i % 1000));
  }
  int i = 0;
  for (auto _ : state) {
    const InstanceKey key{"sh001", "prod", apps[static_cast<size_t>(i)],
                          hosts[static_cast<size_t>(i)]};
    benchmark::DoNotOptimize(
        registry.renew(key, std::nullopt, [](RenewOutcome, const Instance&) {}));
    i = (i + 1) % n;
  }
}
BENCHMARK(BM_Renew)->Arg(1000)->Arg(100000);

void BM_RegisterNew(benchmark::State& state) {
  SystemClock clock;
  Registry registry(clock, {});
  int i = 0;
  for (auto _ : state)
    registry.register_instance(instance(i++, 1000));
}
BENCHMARK(BM_RegisterNew);

void BM_RenderFetch100(benchmark::State& state) {
  SystemClock clock;
  Registry registry(clock, {});
  for (int i = 0; i < 100; ++i)
    registry.register_instance(instance(i, 1));
  std::string out;
  for (auto _ : state) {
    out.clear();
    registry.read_app("prod", "app0",
                      [&](const App& app) { api::append_instance_info(out, app, "", 3); });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_RenderFetch100);

}  // namespace

BENCHMARK_MAIN();
