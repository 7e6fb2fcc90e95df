#pragma once
// Finds the instances of services and follows their changes.
//
// A Resolver subscribes to appids. Every subscription of every Resolver made from one Client is
// served by that client's one long-poll loop (GET /discovery/polls with each app's latest
// timestamp), which learns of a change as soon as the node does. On a transport error or a
// refused poll it moves to the next node with back-off and jitter; it also moves every
// ClientOptions::move_every. Timestamps are per node, so a move polls everything afresh.
// Errors never empty a list: the last good list stays until a node says otherwise.
//
// Threading: every method may be called from any thread, except that the destructor and
// unsubscribe() must not be called from inside a callback. Callbacks run on the Client's thread,
// one at a time, in the order of the changes, and must not block it; once unsubscribe() or the
// destructor has returned, that subscription's callback never runs again. instances() is a
// lock-protected copy of a shared pointer: cheap, and safe while callbacks run.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "muster/client.h"
#include "muster/instance.h"

namespace muster {

// Which instances of an app a subscription sees. Applied in this order.
struct Filter {
  std::string zone;     // only this zone; empty: every zone
  bool up_only = true;  // only status 1 (the poll answers carry UP instances only anyway)
  // Only instances with an address of one of these schemes ("grpc"), and of their addresses only
  // those; empty: every instance and address.
  std::vector<std::string> schemes;
  // Only instances whose metadata has each of these keys with exactly this value.
  std::map<std::string, std::string> metadata;
  // When non-zero and more instances remain, a deterministic subset of this many: the same client
  // hostname always gets the same subset of the same list, and the clients of a fleet spread
  // evenly over the instances (kratos' subset, after Google's "deterministic subsetting").
  size_t subset = 0;
};

struct WatchOptions {
  Filter filter;
  // An answer that leaves no instance (the app vanished, or the filter keeps none) keeps the last
  // non-empty list; false: the empty list is delivered.
  bool keep_last_on_empty = true;
};

// Called with the full new list after each change (already filtered), sorted by zone, hostname.
using InstancesCallback = std::function<void(const std::vector<Instance>& instances)>;

class Resolver {
 public:
  // `client` must outlive the Resolver.
  explicit Resolver(Client& client);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Starts following `appid` (in the client's env) at once; replaces an earlier subscription of
  // this Resolver to the same appid. `on_change` may be empty (use instances()).
  void subscribe(const std::string& appid, WatchOptions options = {},
                 InstancesCallback on_change = {});
  void unsubscribe(const std::string& appid);

  // The current list of a subscribed app (empty before the first answer and for unknown appids).
  std::shared_ptr<const std::vector<Instance>> instances(const std::string& appid) const;
  // Waits until the first answer about `appid` arrived (which may be an empty list) and the
  // callback has seen it; false when `limit` passed first.
  bool wait_ready(const std::string& appid, std::chrono::milliseconds limit) const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// The filter's steps as pure functions (also what the Resolver uses).
std::vector<Instance> filter_instances(std::vector<Instance> instances, const Filter& filter,
                                       const std::string& client_hostname);
// Deterministic subset of `size` instances for the client `client_hostname`; every instance
// when there are no more than `size`.
std::vector<Instance> subset(std::vector<Instance> instances, size_t size,
                             const std::string& client_hostname);

}  // namespace muster
