#pragma once
// Runs the checks of the Consul registrations of this node's zone (docs/api.md, "Health checks"):
// HTTP and TCP probes every Interval (at least 1 s; the first after a random part of one), TTL
// expiry, and DeregisterCriticalServiceAfter. Each check is run by exactly one live node of the
// zone: the one with the highest rendezvous hash of (node address, check), over this node and
// the same-zone peers whose links are up; when a node dies its links go down within seconds and
// its checks move to the others, with no hand-over. Results go through CheckWrites, so they
// replicate. A probe's timeout is at most its interval and 5 minutes, and at most
// `max_in_flight` probes are out at once (each holds a descriptor): the others wait their turn,
// and one that waited three intervals is written critical, saying why (docs/security.md).
// Threading: one thread of its own, started by start() and joined by stop() or the destructor;
// owner_of() is pure; the counters are atomic.
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "checks/check_writes.h"
#include "cluster/replicator.h"

namespace muster::checks {

// The node of `nodes` (addresses) that runs the check named `key`; "" when there is none.
std::string owner_of(const std::vector<std::string>& nodes, std::string_view key);

struct RunnerOptions {
  std::string zone;  // this node's: it runs the checks of the instances registered in it
  std::string self;  // this node's address, as its peers know it
  std::chrono::nanoseconds tick = std::chrono::milliseconds(250);
  // DeregisterCriticalServiceAfter is raised to this, as Consul raises it to 1 minute.
  std::chrono::nanoseconds reap_floor = std::chrono::minutes(1);
  size_t max_in_flight = 512;  // probes out at once (their sockets), below the descriptor limit
  AllowedRequests allowed = AllowedRequests::kAny;  // what this node's probes may send
};

class CheckRunner {
 public:
  // `peers` may be null (a node alone).
  CheckRunner(registry::Registry& registry, const CheckIndex& index, CheckWrites& writes,
              const Clock& clock, const cluster::Replicator* peers, RunnerOptions options);
  ~CheckRunner();
  CheckRunner(const CheckRunner&) = delete;
  CheckRunner& operator=(const CheckRunner&) = delete;

  void start();
  void stop();

  // Checks this node runs, as counted at the last census (every 4 s).
  size_t owned() const { return owned_.load(); }
  uint64_t probes() const { return probes_.load(); }
  size_t in_flight() const { return in_flight_.load(); }  // probes out now: outbound connections
  uint64_t deferred() const { return deferred_.load(); }  // probes that waited for the budget

 private:
  struct Slot {
    int64_t due_mono = 0;
    bool in_flight = false;
    bool seen = false;
    bool starved = false;  // written critical for waiting for the budget; cleared by a probe
  };
  void schedule();
  void scan();
  std::vector<std::string> live_nodes() const;
  void run_probe(const cluster::InstanceId& id, const Check& check, const std::string& key,
                 int64_t now_ms);

  registry::Registry& registry_;
  const CheckIndex& index_;
  CheckWrites& writes_;
  const Clock& clock_;
  const cluster::Replicator* peers_;
  const RunnerOptions options_;
  boost::asio::io_context ioc_;
  boost::asio::steady_timer timer_{ioc_};
  std::unordered_map<std::string, Slot> slots_;  // by check key; the runner's thread only
  int64_t next_census_mono_ = 0;                 // the runner's thread only
  std::minstd_rand random_{std::random_device{}()};
  std::atomic<size_t> owned_{0};
  std::atomic<uint64_t> probes_{0};
  std::atomic<size_t> in_flight_{0};
  std::atomic<uint64_t> deferred_{0};
  std::thread thread_;
};

}  // namespace muster::checks
