#pragma once
// Anti-entropy, which the original lacks: every interval the node compares each app's digest
// (instance count and a hash of identities and dirty timestamps) with each peer's
// (/discovery/digests), fetches the apps that differ, and adopts every instance the peer holds in
// a newer copy or that it lacks. Each node pulls from its peers, so a write lost on the way heals
// in both directions without a restart or a renew cycle. A lost cancel is not undone here (a pull
// cannot tell it from a lost register); eviction removes that instance, as in the original.
// Threading: runs on the replicator's io_context; counters are read from any thread.
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>

#include "cluster/replicator.h"
#include "common/metrics.h"
#include "registry/registry.h"

namespace muster::cluster {

class AntiEntropy {
 public:
  AntiEntropy(registry::Registry& registry, Replicator& replicator,
              std::chrono::nanoseconds interval, std::chrono::nanoseconds timeout);
  // Starts the periodic comparison on the replicator's io_context.
  void start();
  void write_metrics(metrics::TextWriter& out) const;

 private:
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> compare_with(const std::string& addr);

  registry::Registry& registry_;
  Replicator& replicator_;
  const std::chrono::nanoseconds interval_;
  const std::chrono::nanoseconds timeout_;
  std::atomic<uint64_t> rounds_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> apps_differing_{0};
  std::atomic<uint64_t> instances_pulled_{0};
};

}  // namespace muster::cluster
