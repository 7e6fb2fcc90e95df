#pragma once
// The discovery manager: Prometheus's new manager (discovery/manager.go) with its later fixes.
//
// - Providers are keyed by their configuration: jobs with identical provider configs share one
//   provider, whose updates are stored once per job (pool key = job, provider name "type/n").
// - Updates are merged by source; a group without targets deletes its source; an update that
//   changes nothing (an exec run printing what it printed before) triggers nothing.
// - Changes are coalesced and handed to the consumer at most once per throttle interval (0: at
//   the next turn of the loop). The first change after a quiet interval goes out at once.
// - apply() (start and every reload) keeps providers whose config is unchanged running, gives a
//   job added to a running provider that provider's targets at once, stops providers no job uses,
//   and always triggers a send: every job of the new configuration is in it (with [] if it has
//   nothing), a job or provider removed leaves no stale groups behind.
// - With a first-update timeout (muster's addition; 0, the default here, is Prometheus's way), a
//   job with a provider that has not sent since it started is held out of the sends until it
//   has, or until the timeout: a restart or a reload that replaces a provider does not hand the
//   outputs an empty job for the moment the new provider takes to answer.
//
// Threading: everything runs on one io_context thread (apply, provider updates, the consumer).
// The counters may be read from any thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "sd/provider.h"

namespace muster::sd {

// job -> every group of every provider of the job, in provider order then source order.
using Snapshot = std::map<std::string, SharedGroups>;

// What one send carries: the full groups of the jobs that changed since the last send (a job
// whose providers all went is there with no groups), and the names of every configured job.
// With 20,000 targets in 200 jobs, one exec run touches one job: only it is rebuilt and rendered.
struct Delta {
  Snapshot changed;
  std::set<std::string> jobs;
  std::set<std::string> held;  // configured jobs whose changes wait for a provider's first update
  // Jobs with a provider that has sent nothing yet, held or not (its first run failed, or the
  // hold timed out): what they have is not yet what their sources say.
  std::set<std::string> waiting;
};

class Manager {
 public:
  using Consumer = std::function<void(const Delta&)>;
  using Factory = std::function<MadeProvider(const ProviderConfig&, ProviderContext)>;

  Manager(boost::asio::io_context& io, milliseconds throttle, Consumer consumer,
          Factory factory = make_provider);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Applies a configuration; returns the provider configs that could not be made, each with why.
  std::vector<std::string> apply(const std::vector<JobConfig>& jobs);
  void set_throttle(milliseconds throttle) { throttle_ = throttle; }
  // Takes effect for providers started from now on.
  void set_first_update_timeout(milliseconds timeout) { first_update_timeout_ = timeout; }
  // Stops every provider; nothing is sent afterwards.
  void stop();

  struct ProviderView {
    std::string name, type;
    std::set<std::string> jobs;
    std::shared_ptr<ProviderStats> stats;
  };
  std::vector<ProviderView> providers() const;
  // Sources stored over all jobs and providers (an empty group frees its source's entry).
  size_t stored_sources() const;
  // Targets per job in the last snapshot sent.
  const std::map<std::string, size_t>& discovered() const { return discovered_; }

  metrics::Counter received_updates;  // batches from providers
  metrics::Counter updates;           // snapshots sent to the consumer
  metrics::Gauge failed_configs;

 private:
  struct Entry;
  void on_update(Entry& entry, Groups groups);
  void trigger();
  void send();
  // Jobs with a provider still within its first-update timeout; `next` gets the earliest expiry.
  std::set<std::string> held_jobs(std::chrono::steady_clock::time_point now,
                                  std::optional<std::chrono::steady_clock::time_point>& next) const;

  boost::asio::io_context& io_;
  milliseconds throttle_;
  milliseconds first_update_timeout_{0};
  Consumer consumer_;
  Factory factory_;
  std::vector<std::unique_ptr<Entry>> providers_;
  uint64_t last_provider_ = 0;  // only grows: a changed config gets a new name
  // (job, provider name) -> its groups, sorted by source, one per source (16 bytes a group: an
  // index by source in a tree cost ten times that with 1,000,000 groups)
  std::map<std::pair<std::string, std::string>, SharedGroups> targets_;
  std::map<std::string, size_t> discovered_;
  std::set<std::string> dirty_;  // jobs changed since the last send
  bool pending_ = false;         // a change not yet sent
  bool scheduled_ = false;       // a send is posted or its timer armed
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer hold_timer_;  // releases held jobs at their providers' timeout
  std::optional<std::chrono::steady_clock::time_point> last_sent_;  // none before the first send
  bool stopped_ = false;
  std::shared_ptr<void> alive_ = std::make_shared<int>(0);  // posted sends check it
};

}  // namespace muster::sd
