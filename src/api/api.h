#pragma once
// An API a node serves over its registry (the native /discovery/* API, Consul's, Prometheus
// HTTP SD, /metrics; next the UI's), and what the node gives every API: the registry to read,
// the one write path that applies and replicates (cluster/writes.h), the node's identity, its
// peers and whether reads are still closed at start-up. Adding an API: its files in src/api/
// (CMake finds them), its options as a member of ApiOptions, and one line in make_apis()
// (api/all_apis.cpp); the node needs no change.
// Threading: make_apis(), add_routes(), on_tick() and on_stop() run on the node's owning thread;
// route handlers run on the server's workers, many at once.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/access.h"
#include "api/write_limit.h"
#include "cluster/replicator.h"
#include "cluster/writes.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "http/router.h"
#include "registry/registry.h"

namespace muster::api {

struct NodeIdentity {
  std::string region, zone, env, hostname;
  std::string advertise_addr;  // host:port that peers and clients use for this node
};

// Init-protect (docs/decisions.md §5.4): when enabled, reads are refused after start until the
// first successful syncup or the timeout. Threading: any thread.
class InitProtect {
 public:
  InitProtect(const Clock& clock, bool enabled, std::chrono::nanoseconds timeout)
      : clock_(clock), enabled_(enabled), until_mono_(clock.mono_ns() + timeout.count()) {}
  bool active() const { return enabled_ && !ended_ && clock_.mono_ns() < until_mono_; }
  void end() { ended_ = true; }

 private:
  const Clock& clock_;
  const bool enabled_;
  const int64_t until_mono_;
  std::atomic<bool> ended_{false};
};

struct ApiContext {
  registry::Registry& registry;
  cluster::Writes& writes;  // every write goes through here, then to replication
  const Clock& clock;
  const NodeIdentity& identity;
  const InitProtect& init_protect;
  const cluster::Replicator* replicator;  // the peers (for node lists); null without them
  const Access& access;                   // who may do what (docs/security.md)
  WriteLimit& write_limit;                // clients' writes per second per source address
};

// A write's answer while the data directory's disk refuses carries `X-Muster-Stored:
// memory-only`: the write was applied and replicated, and a restart of this node before the disk
// recovers loses it (docs/architecture.md, "A disk that refuses"). The code stays a success, so
// clients that only read it (kratos, brpc, Consul's) do not retry a write that took.
inline http::Outcome tell_if_memory_only(const cluster::Writes& writes, http::Outcome outcome) {
  if (outcome.response && outcome.response->status / 100 == 2 && writes.memory_only())
    outcome.response->headers.push_back({"X-Muster-Stored", "memory-only"});
  return outcome;
}

class Api {
 public:
  virtual ~Api() = default;
  virtual void add_routes(http::Router& router) = 0;
  // The answer, in this API's own error format, to a body over the server's limit on `path`;
  // nullopt when `path` is not this API's.
  virtual std::optional<http::Response> reject_body(std::string_view path,
                                                    std::string message) const = 0;
  // Housekeeping on the node's eviction tick (releasing idle caches).
  virtual void on_tick() {}
  // Stops what the API runs of its own (threads, timers), before the node stops its server and
  // its peers: nothing of it writes once this returns.
  virtual void on_stop() {}
  // Its own series on /metrics (any thread).
  virtual void write_metrics(metrics::TextWriter&) const {}
};

}  // namespace muster::api
