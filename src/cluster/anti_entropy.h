#pragma once
// Anti-entropy, which the original lacks: every interval the node compares each app's digest
// (instance count and a hash of identities and dirty timestamps) with each peer's
// (/discovery/digests), fetches the apps that differ, adopts every instance the peer holds in a
// newer copy or that it lacks, and sends the peer a register of every instance it holds older or
// not at all. So a write lost on the way heals without a restart or a renew cycle, and a peer that
// was lost is brought back by one such round as soon as it answers again (resync()), whatever its
// queue dropped. Where the instances agree and the peer's Consul index is higher, that index is
// taken (Registry::raise_index), so that the nodes give one index. A lost cancel is not undone here
// (a comparison cannot tell it from a lost register); eviction removes that instance, as in the
// original. Threading: runs on the replicator's io_context; counters are read from any thread.
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "cluster/http_get.h"
#include "cluster/replicator.h"
#include "common/metrics.h"
#include "registry/registry.h"

namespace muster::cluster {

class AntiEntropy {
 public:
  // How a round reads a peer: GET `target` from `addr`. By default http_get with the peer's
  // credentials; the cluster simulation (tests/sim/) answers from its own nodes instead.
  using Fetch =
      std::function<boost::asio::awaitable<GetResult>(std::string addr, std::string target)>;
  AntiEntropy(registry::Registry& registry, Replicator& replicator,
              std::chrono::nanoseconds interval, std::chrono::nanoseconds timeout,
              Fetch fetch = {});
  // Starts the periodic comparison on the replicator's io_context.
  void start();
  // One round with `addr` now: for a peer that answers again after being lost. Any thread.
  void resync(const std::string& addr);
  void write_metrics(metrics::TextWriter& out) const;
  // One comparison with `addr` (what every round does with each peer). `addr` by value: a
  // resync runs after the caller's string is gone.
  boost::asio::awaitable<void> compare_with(std::string addr);

 private:
  boost::asio::awaitable<void> run();
  // Applies the peer's newer copies from its fetch answer `app`; fills `at_peer` with the peer's
  // (zone, hostname) -> dirty_timestamp.
  // `sender_clock`: the peer's clock when it rendered `app`, which its leases are measured by.
  void pull(const std::string& addr, std::string_view app, std::optional<int64_t> sender_clock,
            std::map<std::pair<std::string, std::string>, int64_t>& at_peer);
  // Sends the peer our copies of the app that it holds older or not at all.
  void push(const std::string& addr, const std::string& env, const std::string& appid,
            const std::map<std::pair<std::string, std::string>, int64_t>& at_peer);

  registry::Registry& registry_;
  Replicator& replicator_;
  const std::chrono::nanoseconds interval_;
  const std::chrono::nanoseconds timeout_;
  const Fetch fetch_;
  std::atomic<uint64_t> rounds_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> apps_differing_{0};
  std::atomic<uint64_t> instances_pulled_{0};
  std::atomic<uint64_t> cancels_sent_{0};
  std::atomic<uint64_t> lapsed_{0};
  std::atomic<uint64_t> instances_pushed_{0};
  std::atomic<uint64_t> indexes_raised_{0};
};

}  // namespace muster::cluster
