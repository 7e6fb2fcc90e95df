#pragma once
// This node as appid infra.discovery (docs/decisions.md §6.7): registered after the first syncup
// pass, renewed every 30 s and cancelled at shutdown, each step replicated like a client's; and the
// watcher that hands the registered infra.discovery nodes to the replicator as discovered peers.
// Threading: start() and the watcher run on the replicator's io_context; cancel() is called from
// the main thread at shutdown, before the replicator stops; wake() comes with the registry lock
// held and only posts.
#include <boost/asio.hpp>
#include <mutex>

#include "cluster/replicator.h"
#include "cluster/writes.h"
#include "registry/registry.h"

namespace muster::cluster {

inline constexpr std::string_view kSelfAppid = "infra.discovery";

struct SelfIdentity {
  std::string region, zone, env, hostname;
  std::string advertise_addr;   // host:port; registered as <scheme>://host:port
  std::string scheme = "http";  // "https" when the node serves TLS
};

class SelfRegistration final : public registry::PollWaiter, public registry::PollRenderer {
 public:
  SelfRegistration(registry::Registry& registry, Writes& writes, Replicator& replicator,
                   SelfIdentity self,
                   std::chrono::nanoseconds renew_interval = std::chrono::seconds(30));
  ~SelfRegistration();
  // Registers this node, then renews it and watches infra.discovery. Posts to the replicator.
  void start();
  // Cancels this node's registration (replicated). Safe to call once the work is stopped too.
  void cancel();

  void wake(registry::PollAnswer answer) override;
  std::string render(const registry::App&, std::string_view) const override { return {}; }

 private:
  void register_self();
  void schedule_renew();
  void watch();
  // Hands the current infra.discovery nodes to the replicator; returns the app's latest.
  int64_t refresh();

  registry::Registry& registry_;
  Writes& writes_;
  Replicator& replicator_;
  const SelfIdentity self_;
  const std::chrono::nanoseconds renew_interval_;
  boost::asio::steady_timer renew_timer_;
  registry::ParkedPoll watch_;
  std::mutex mu_;  // orders register_self() and cancel()
  std::atomic<bool> cancelled_{false};
};

}  // namespace muster::cluster
