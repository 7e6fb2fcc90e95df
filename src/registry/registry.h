#pragma once
// The in-memory registry (docs/decisions.md §3-§5): instances, apps, leases, eviction, the
// self-protection guard, app versions (latest_timestamp) and the watch hub that parks and wakes
// polls. It knows no sockets, no JSON and owns no thread: callers drive eviction through tick().
//
// Threading contract: every public method may be called from any thread. One mutex guards all
// state; visitors passed to read_*() and PollRenderer::render() run with it held, so they must
// not block and must not call back into the Registry. PollWaiter::wake() also runs with it held.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/function_ref.h"
#include "registry/guard.h"
#include "registry/tombstones.h"
#include "registry/types.h"

namespace muster::registry {

using namespace std::chrono_literals;

struct Options {
  std::chrono::nanoseconds evict_after = 90s;
  std::chrono::nanoseconds evict_ceiling = 3600s;
  std::chrono::nanoseconds expect_reset_interval = 15min;
  std::chrono::nanoseconds tombstone_ttl = 3600s;
  std::chrono::nanoseconds max_clock_ahead = 3600s;  // of a peer's dirty_timestamp
  size_t max_tombstones = 100'000;                   // then the oldest are forgotten early
  size_t max_tombstone_bytes = 16 * 1024 * 1024;     // (see tombstones.h for what that costs)
  bool self_protection = true;
  double protect_ratio = 0.85;
  // The guard engages only with at least this many instances registered (issue 14.6).
  int64_t protect_min_instances = 20;
  // Eviction removes instances in chunks, dropping the lock between them, so that a mass
  // eviction never stalls requests for long.
  size_t evict_chunk = 256;
  uint64_t random_seed = 0;  // 0 = seed from std::random_device
};

struct RegisterArgs {
  std::string region, zone, env, appid, hostname, version;
  std::vector<std::string> addrs;
  Metadata metadata;
  int status = kStatusUp;
  bool lease = true;            // false: an instance without heartbeat (Instance::lease)
  int64_t dirty_timestamp = 0;  // > 0 when a peer sends its copy's version
  // A lease is a fact that travels (docs/decisions.md §5.7): a copy from a peer or from the disk
  // carries how long ago it was last renewed where it comes from, and arrives with that lease,
  // never a fresh one; only a renew extends a lease. nullopt: renewed now (a client's register,
  // or a peer that does not say, as Bilibili's nodes for their clients' registers).
  std::optional<int64_t> lease_age_ns;
  // A restore from this node's own data directory: a lapsed lease is kept, for eviction and the
  // guard to decide as for any instance here. A peer's lapsed copy is refused instead (unless
  // this node protects), so that no path brings back what stopped renewing.
  bool keep_lapsed = false;
};

// kIgnoredLapsed: a peer's copy whose lease had already lapsed (older than evict_after), while
// this node does not protect: taking it would revive what its peers evicted. kRefusedAhead: a
// copy whose dirty_timestamp is more than max_clock_ahead past this node's clock, whatever path
// it came by (a route answers -400 first; syncup and anti-entropy skip it): it would pin the
// instance against its owner's writes (issue 15.4, 27.2).
enum class RegisterOutcome { kApplied, kIgnoredOlder, kIgnoredLapsed, kRefusedAhead };

enum class RenewOutcome {
  kOk,
  kNotFound,
  kPeerNewer,  // replicated renew whose dirty_timestamp beats ours: -404, the peer re-registers
  kPeerOlder,  // ours beats the peer's: -409 with our instance
};

struct SetArgs {
  std::string zone, env, appid;
  std::vector<std::string> hostnames;
  std::vector<int> statuses;        // empty, or one per hostname
  std::vector<Metadata> metadatas;  // empty, or one per hostname; merged into the instance's
  int64_t set_timestamp = 0;        // > 0 when replicated
};

struct SetOutcome {
  std::string error;  // empty on success
  int64_t set_timestamp = 0;
};

struct EvictionReport {
  bool protecting = false;
  size_t expired = 0;  // candidates found
  size_t evicted = 0;
};

// What anti-entropy compares between nodes, per app.
struct AppDigest {
  std::string appid, env;
  size_t instances = 0;
  uint64_t digest = 0;
  uint64_t index = 0;  // App::index: compared too, the higher one taken (raise_index)
};

struct Stats {
  int64_t instances = 0;
  int64_t apps = 0;
  int64_t parked_polls = 0;
  int64_t expected_renews = 0;
  int64_t renew_threshold = 0;
  int64_t renews_last_interval = 0;
  bool protecting = false;
  bool self_protection = true;
  uint64_t evicted_total = 0;
  int64_t tombstones = 0;  // apps that emptied, remembered for their version
  int64_t tombstone_bytes = 0;
  uint64_t tombstones_dropped = 0;  // forgotten before their TTL, for a bound
};

struct PollAnswer;

// A parked poll's way to receive its answer. The registry evaluates every poll watching a changed
// app itself, while it holds the lock and the rendering is fresh, and hands the answer over with
// the poll already unparked. wake() runs with the registry lock held, on the thread that made the
// change: it must only store the answer and schedule work.
class PollWaiter {
 public:
  virtual void wake(PollAnswer answer) = 0;

 protected:
  ~PollWaiter() = default;
};

// Renders the bytes a poll answer carries for one app: its UP instances in `zone` ("" = all).
// Called with the registry lock held, once per change of the app and zone filter.
class PollRenderer {
 public:
  virtual std::string render(const App& app, std::string_view zone) const = 0;

 protected:
  ~PollRenderer() = default;
};

struct PollQuery {
  std::string env;
  std::string zone;  // "" = all zones
  std::vector<std::string> appids;
  std::vector<int64_t> latest;  // one per appid: the client's last seen latest_timestamp
  bool single = false;          // /poll: a missing appids[0] answers at once (-404)
  // muster's extension (libmuster sends it): a missing app the client knows (latest > 0) answers
  // at once, so an app that left between two polls is not missed. Off for kratos, which keeps
  // its old timestamp after a -404 and would poll again at once for as long as the app is gone.
  bool report_missing = false;
};

struct PollAnswer {
  // Appids whose app is newer than the client's timestamp, with the shared bytes to send.
  std::vector<std::pair<size_t, std::shared_ptr<const std::string>>> changed;  // index into appids
  std::vector<size_t> missing;                                                 // index into appids
};

// A poll between arrival and answer. Owned by the caller; the registry keeps a pointer to it
// while it is parked, so it must outlive its parking (call unpark() before destroying it).
struct ParkedPoll {
  PollQuery query;
  PollWaiter* waiter = nullptr;
  const PollRenderer* renderer = nullptr;  // set by poll(); renders the answer at a change
  std::vector<bool> present_at_park;
  bool parked = false;
};

// The one way to hear of the registry's changes (issue 28), for everything outside it that must:
// the data directory's journal (stored, removed), the Consul API's index of its registrations
// (stored, removed) and its blocking queries (app_changed). stored(): after a register or a set,
// with the instance as it now is; removed(): before a cancel, a forget or an eviction removes it;
// renews are not told (a restored lease starts afresh). app_changed(): at every change of an
// app's index (every register, set, cancel and eviction, and a peer's index raised by
// anti-entropy). Two things hear of changes otherwise, for a reason: the registry's own parked
// polls (answered inside it, by app), and replication, which depends on where a write came from
// and so is told by the write path (cluster::Writes) rather than by the registry.
// Threading: called under the registry's lock, on the writer's thread: an observer must be quick
// and must not call the registry.
class ChangeObserver {
 public:
  virtual void stored(const Instance&) {}
  virtual void removed(const Instance&) {}
  virtual void app_changed(std::string_view /*env*/, std::string_view /*appid*/) {}

 protected:
  ~ChangeObserver() = default;
};

class Registry {
 public:
  Registry(const Clock& clock, Options options);
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  RegisterOutcome register_instance(const RegisterArgs& args);
  // The same; `on_applied` sees the stored instance, under the lock, when it was applied.
  RegisterOutcome register_instance(const RegisterArgs& args,
                                    FunctionRef<void(const Instance&)> on_applied);
  // `replicated_dirty` is set for a peer's renew (docs/decisions.md §6.4). `on_instance` sees the
  // outcome and the instance whenever it is found (kOk, kPeerOlder, kPeerNewer).
  RenewOutcome renew(const InstanceKey& key, std::optional<int64_t> replicated_dirty,
                     FunctionRef<void(RenewOutcome, const Instance&)> on_instance) {
    return renew(key, replicated_dirty, std::nullopt, on_instance);
  }
  // The same for a peer's renew that says how long ago it was made where it comes from
  // (`lease_age_ns`, renew_age): the lease becomes that old, never older than it is here. A renew
  // that waited in a queue must not extend a lease by its wait (docs/decisions.md §5.7).
  RenewOutcome renew(const InstanceKey& key, std::optional<int64_t> replicated_dirty,
                     std::optional<int64_t> lease_age_ns,
                     FunctionRef<void(RenewOutcome, const Instance&)> on_instance);
  // Removes the instance and remembers when (its cancel mark, kept as long as app tombstones):
  // a copy from a peer that is not newer than the mark is not taken back (register_instance
  // ignores it), so that anti-entropy cannot bring back what a client cancelled. With
  // `if_not_newer_than` (a peer's cancel, at that time), an instance changed since is kept.
  bool cancel(const InstanceKey& key, std::optional<int64_t> if_not_newer_than = std::nullopt);
  // Removes the instance if it is still the version `dirty`, with no cancel mark: what this node
  // alone stops holding (a restored copy that no peer confirmed) is not a cancel, and a peer's
  // copy may come back (DataDir::drop_unconfirmed). False when absent or changed since.
  bool forget(const InstanceKey& key, int64_t dirty);
  // When the instance was cancelled here, if that is remembered.
  std::optional<int64_t> cancelled_at(const InstanceKey& key) const;
  // All-or-nothing: validated fully before anything changes.
  SetOutcome set(const SetArgs& args);

  // Runs `fn` on the app under the lock; false if the app is unknown.
  bool read_app(std::string_view env, std::string_view appid,
                FunctionRef<void(const App&)> fn) const;
  // Runs `fn` on the instance under the lock; false if it is unknown.
  bool read_instance(const InstanceKey& key, FunctionRef<void(const Instance&)> fn) const;
  // Every app's digest, in no particular order.
  std::vector<AppDigest> digests() const;
  // Consul's index of the app (App::index), of an emptied app still remembered, else 1 (Consul
  // never answers 0). The catalog's: the highest app index this node has held, at least 1.
  uint64_t app_index(std::string_view env, std::string_view appid) const;
  uint64_t catalog_index() const;
  // A peer's index for an app both hold (anti-entropy): taken when higher, so that nodes that
  // applied the same changes in another order, or evicted at other times, agree. No content
  // changes; the observers' app_changed() is called (Consul's watchers compare indexes). An index
  // further ahead than max_clock_ahead is ignored, as such a timestamp would be.
  void raise_index(std::string_view env, std::string_view appid, uint64_t index);
  // Every app's (appid, env), sorted: with read_app() per name, a large reader renders app by
  // app and lets writers in between (issue 15.6).
  std::vector<std::pair<std::string, std::string>> app_names() const;
  // The (appid, env) of the apps that hold instances without a lease, sorted: what the Consul
  // agent routes and the check runner read, without a pass over every app.
  std::vector<std::pair<std::string, std::string>> unleased_app_names() const;
  // Observers are told of every change from their addition on; with `tell_existing`, first of
  // every instance already held (stored(), under the same lock, so that none is missed or told
  // out of order). Add them before the registry is shared where they must not miss a change;
  // remove one before it goes.
  void add_observer(ChangeObserver* observer, bool tell_existing);
  void remove_observer(ChangeObserver* observer);
  // Rises with every change that an answer may show (register, set, cancel, eviction), never
  // with a renew; for caches of renderings. Any thread, no lock.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Answers a poll at once if the rules say so (docs/decisions.md §4), else parks it and returns
  // nullopt.
  std::optional<PollAnswer> poll(ParkedPoll& p, const PollRenderer& renderer);
  // Removes a poll that was not answered (its deadline passed, its client left). A no-op for a
  // poll already answered through its waiter.
  void unpark(ParkedPoll& p);

  // One eviction tick (every evict_interval): roll the guard's counter, reset the expectation
  // when due, drop old tombstones, evict expired instances.
  EvictionReport tick();

  Stats stats() const;
  // The clock the registry measures by (a restore measures the files' leases with it).
  const Clock& clock() const { return clock_; }

 private:
  struct AppKey {
    std::string_view appid, env;
    bool operator==(const AppKey&) const = default;
  };
  // Owning form, for maps whose entries outlive any one app or poll.
  struct OwnedAppKey {
    std::string appid, env;
  };
  struct AppKeyHash {
    using is_transparent = void;
    size_t operator()(const AppKey& k) const noexcept;
    size_t operator()(const OwnedAppKey& k) const noexcept {
      return (*this)(AppKey{k.appid, k.env});
    }
  };
  struct AppKeyEq {
    using is_transparent = void;
    static AppKey view(const AppKey& k) { return k; }
    static AppKey view(const OwnedAppKey& k) { return {k.appid, k.env}; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return view(a) == view(b);
    }
  };
  struct Expired {
    std::string appid, env, zone, hostname;
  };
  // What one tick decided under the lock, before it removes anything.
  struct EvictionPlan {
    int64_t now_mono = 0;
    bool protecting = false;
    bool capped = false;           // more expired than the guard lets go: only `victims` go
    std::vector<Expired> victims;  // when capped, the uniform random choice
  };
  EvictionPlan plan_eviction(EvictionReport& report);
  void evict_expired_prefix(const EvictionPlan& plan, EvictionReport& report);
  void evict_chosen(const EvictionPlan& plan, EvictionReport& report);
  // Under the lock: removes one instance, noting its app in `watched` if polls wait on it.
  void evict_one(Instance& inst, std::vector<OwnedAppKey>& watched, EvictionReport& report);
  // Under the lock: answers the polls of the apps in `watched`, and clears it.
  void wake_all(std::vector<OwnedAppKey>& watched);

  App* find_app(std::string_view env, std::string_view appid) const;
  Instance* find_instance(const InstanceKey& key) const;
  App& app_for_write(std::string_view env, std::string_view appid);
  // Records a change of the app: a new latest_timestamp (this node's clock, for polls) and a new
  // index from the change's `version` (a timestamp that replicates with it: see App::index).
  int64_t bump(App& app, int64_t version);
  // The largest index a version may give: this node's clock plus max_clock_ahead, in µs.
  uint64_t index_ceiling() const;
  // Answers every poll watching the app that now has an answer (a trigger, or the app gone). Call
  // once the change is complete, so that the answer shows its final state.
  void wake(std::string_view env, std::string_view appid);
  // Removes an instance; drops its zone and app when they empty. Returns true if the app is gone.
  void remove_instance(Instance& inst);
  // A cancel's or a forget's removal, as a change at `version`: the app's index moves, the guard
  // expects one lease fewer, the store and the polls are told. Under mu_.
  void withdraw(Instance& inst, int64_t version);
  // Adds or removes (XOR) the instance's part of its app's digest; called around every change of
  // its dirty_timestamp.
  void toggle_digest(const Instance& inst);
  void lease_append(Instance& inst);
  void lease_unlink(Instance& inst);
  bool expired(const Instance& inst, int64_t now_mono, bool protecting) const;

  const PollView& poll_view(App& app, std::string_view zone, const PollRenderer& renderer);
  std::optional<PollAnswer> evaluate(ParkedPoll& p, const PollRenderer& renderer, bool arrival);
  void park(ParkedPoll& p);
  void unpark_locked(ParkedPoll& p);
  // Removes the poll from the watch list of each of its apps (those it is still in).
  void leave_watch_lists(ParkedPoll& p);

  const Clock& clock_;
  const Options options_;
  mutable std::mutex mu_;
  std::unordered_map<AppKey, std::unique_ptr<App>, AppKeyHash> apps_;  // keys view the App
  Tombstones tombstones_;
  // Cancel marks by instance: the "appid" is zone, appid and hostname joined (cancel_mark_name()).
  Tombstones cancel_marks_;
  std::unordered_map<OwnedAppKey, std::unordered_set<ParkedPoll*>, AppKeyHash, AppKeyEq> watchers_;
  Guard guard_;
  // Whether the last eviction run protected: what decides, until the next run, whether a peer's
  // lapsed copy is taken (docs/decisions.md §5.7). Not the guard's live figure, which a new
  // registration moves between runs: a node that evicted an instance as it did not protect
  // took it back from a protecting peer a moment later (the simulation with the guard found it).
  bool protected_at_last_run_ = false;
  Instance* lease_head_ = nullptr;  // least recently renewed
  Instance* lease_tail_ = nullptr;
  // Leases carried in older than the list's tail (Instance::carried), by renew_mono: eviction
  // reads the expired prefix of both. A carried instance moves to the list at its next renew.
  std::set<std::pair<int64_t, Instance*>> carried_leases_;
  // The least recently renewed instance of the list and the carried set; nullptr when none.
  Instance* oldest_lease() const;
  int64_t instance_count_ = 0;
  int64_t leased_count_ = 0;  // instances with a lease: what the guard expects renews from
  // Apps with App::unleased_count > 0, by (appid, env).
  std::set<std::pair<std::string, std::string>> unleased_apps_;
  void count_unleased(App& app, int delta);
  int64_t parked_count_ = 0;
  uint64_t evicted_total_ = 0;
  uint64_t catalog_index_ = 0;  // the highest App::index held here
  std::atomic<uint64_t> generation_{0};
  std::vector<ChangeObserver*> observers_;
  void tell_stored(const Instance& inst) const {
    for (ChangeObserver* o : observers_)
      o->stored(inst);
  }
  void tell_removed(const Instance& inst) const {
    for (ChangeObserver* o : observers_)
      o->removed(inst);
  }
  void tell_app_changed(const App& app) const {
    for (ChangeObserver* o : observers_)
      o->app_changed(app.env, app.appid);
  }
  int64_t next_expect_reset_mono_;
  std::mt19937_64 rng_;
};

}  // namespace muster::registry
