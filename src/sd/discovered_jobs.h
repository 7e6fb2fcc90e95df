#pragma once
// The jobs muster sd discovers from its `job_discovery` sources (issue 20), kept between the
// manager's sends: each source's groups split by its job label (sd/job_split), which source owns
// each job name, which jobs changed, and the jobs that went (answered [] for the source's
// forget_removed_after, then forgotten).
//
// Names: a configured job wins over any source, and an earlier source (in the configuration's
// order) over a later one; the loser's targets of that name are left out, and the clash is
// logged once and counted in the source's stats until it ends.
// Threading: one thread (the sd's io_context).
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sd/config.h"
#include "sd/job_split.h"

namespace muster::sd {

class DiscoveredJobs {
 public:
  using Clock = std::chrono::steady_clock;

  // A configuration applied: its sources and its configured jobs' names. A source no longer
  // configured loses its jobs at the next settle().
  void configure(const std::vector<JobSourceConfig>& sources, std::set<std::string> configured);
  // A source's groups, as the manager sent them.
  void update(const std::string& source, const SharedGroups& groups);

  struct Settled {
    std::set<std::string> changed;  // jobs new, or whose groups or source changed
    std::set<std::string> gone;     // jobs no longer discovered (now answered [])
  };
  // Decides who owns each name after configure() and update() calls.
  Settled settle(Clock::time_point now);
  // Forgets the jobs gone longer than their source's forget_removed_after; returns them.
  std::vector<std::string> expire(Clock::time_point now);
  // When expire() next has something to forget.
  std::optional<Clock::time_point> next_expiry() const;

  const Groups& groups(const std::string& job) const;  // of a discovered job
  const std::map<std::string, std::string>& owners() const { return owners_; }  // job -> source
  const std::map<std::string, Clock::time_point>& gone() const { return gone_until_; }
  std::set<std::string> jobs_of(const std::string& source) const;
  DiscoveredSettings settings() const;  // every discovered job's

  struct SourceStats {
    size_t jobs = 0, targets = 0, skipped = 0, clashes = 0;
    std::vector<std::string> problems;  // the first few skipped targets' reasons
  };
  std::map<std::string, SourceStats> stats() const;  // per configured source

 private:
  struct Source {
    JobSourceConfig config;
    SplitJobs split;
    std::set<std::string> changed;  // jobs whose groups changed since the last settle()
    std::set<std::string> clashes;  // names lost to a configured job or an earlier source
    bool configured = true;
  };
  std::vector<std::string> order_;  // configured sources, earliest first
  std::map<std::string, Source> sources_;
  std::set<std::string> configured_jobs_;
  std::map<std::string, std::string> owners_;            // job -> source
  std::map<std::string, Clock::time_point> gone_until_;  // job -> when it is forgotten
};

}  // namespace muster::sd
