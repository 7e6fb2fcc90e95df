// pick() time of each balancer with 10, 100 and 1,000 instances, on one thread and on four
// threads sharing one balancer (the contended case). Google Benchmark; run
// `build/bench/balancer_bench`.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <mutex>

#include "muster/balancer.h"

namespace {

using muster::Balancer;
using muster::Policy;

// One balancer per (policy, size), shared by the benchmark's threads.
Balancer& shared_balancer(Policy policy, int n) {
  static std::mutex mu;
  static std::map<std::pair<int, int>, std::unique_ptr<Balancer>> all;
  std::lock_guard lock(mu);
  auto& b = all[{static_cast<int>(policy), n}];
  if (!b) {
    b = std::make_unique<Balancer>(policy);
    std::vector<muster::Instance> list;
    for (int i = 0; i < n; ++i) {
      muster::Instance inst;
      inst.zone = "z1";
      inst.hostname = "h" + std::to_string(i);
      inst.addrs = {"http://10.0.0.1:" + std::to_string(8000 + i)};
      inst.metadata["weight"] = std::to_string(100 + i % 7);
      list.push_back(std::move(inst));
    }
    b->update(std::move(list));
  }
  return *b;
}

void BM_Pick(benchmark::State& state, Policy policy) {
  Balancer& b = shared_balancer(policy, static_cast<int>(state.range(0)));
  const std::string keys[4] = {"user-1", "user-22", "user-333", "user-4444"};
  size_t k = 0;
  for (auto _ : state) {
    muster::Pick p = b.pick(keys[k++ & 3]);
    benchmark::DoNotOptimize(p.operator->());
    if (policy == Policy::kPowerOfTwo) p.done(std::chrono::microseconds(100));
  }
}

#define MUSTER_PICK_BENCH(name, policy)                                               \
  BENCHMARK_CAPTURE(BM_Pick, name, policy)->Arg(10)->Arg(100)->Arg(1000)->Threads(1); \
  BENCHMARK_CAPTURE(BM_Pick, name, policy)->Arg(10)->Arg(100)->Arg(1000)->Threads(4)

MUSTER_PICK_BENCH(round_robin, Policy::kRoundRobin);
MUSTER_PICK_BENCH(random, Policy::kRandom);
MUSTER_PICK_BENCH(weighted, Policy::kWeighted);
MUSTER_PICK_BENCH(power_of_two, Policy::kPowerOfTwo);
MUSTER_PICK_BENCH(consistent_hash, Policy::kConsistentHash);

}  // namespace

BENCHMARK_MAIN();
