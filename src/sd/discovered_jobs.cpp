#include "sd/discovered_jobs.h"

#include <spdlog/spdlog.h>

namespace muster::sd {

void DiscoveredJobs::configure(const std::vector<JobSourceConfig>& sources,
                               std::set<std::string> configured) {
  for (auto& [name, source] : sources_)
    source.configured = false;
  order_.clear();
  for (const auto& config : sources) {
    Source& source = sources_[config.name];
    if (source.config.job_label != config.job_label && !source.config.job_label.empty()) {
      // Another label splits the same groups otherwise: nothing of the old split holds.
      for (const auto& [job, groups] : source.split.jobs)
        source.changed.insert(job);
      source.split = SplitJobs{};
    }
    source.config = config;
    source.configured = true;
    order_.push_back(config.name);
  }
  configured_jobs_ = std::move(configured);
}

void DiscoveredJobs::update(const std::string& name, const SharedGroups& groups) {
  const auto it = sources_.find(name);
  if (it == sources_.end()) return;
  Source& source = it->second;
  SplitJobs split = split_by_job(groups, source.config.job_label, source.config.max_jobs);
  for (const auto& [job, job_groups] : split.jobs) {
    const auto old = source.split.jobs.find(job);
    if (old == source.split.jobs.end() || old->second != job_groups) source.changed.insert(job);
  }
  for (const auto& [job, job_groups] : source.split.jobs)
    if (!split.jobs.contains(job)) source.changed.insert(job);
  source.split = std::move(split);
}

DiscoveredJobs::Settled DiscoveredJobs::settle(Clock::time_point now) {
  std::map<std::string, std::string> owners;
  for (const auto& name : order_) {
    Source& source = sources_.at(name);
    std::set<std::string> clashes;
    for (const auto& [job, groups] : source.split.jobs) {
      const bool configured = configured_jobs_.contains(job);
      if (configured || owners.contains(job)) {
        if (!source.clashes.contains(job)) {
          spdlog::warn(
              "sd: job_discovery {}: job \"{}\" is also {}, which wins; its targets from "
              "{} are left out",
              name, job,
              configured ? std::string("a configured job")
                         : "discovered by job_discovery " + owners.at(job),
              name);
        }
        clashes.insert(job);
        continue;
      }
      owners.emplace(job, name);
    }
    source.clashes = std::move(clashes);
  }
  Settled out;
  for (const auto& [job, source] : owners_) {
    if (owners.contains(job)) continue;
    out.gone.insert(job);
    const auto it = sources_.find(source);
    gone_until_[job] = now + it->second.config.forget_removed_after;
  }
  for (const auto& [job, source] : owners) {
    const auto old = owners_.find(job);
    if (old == owners_.end() || old->second != source || sources_.at(source).changed.contains(job))
      out.changed.insert(job);
    gone_until_.erase(job);
  }
  for (auto it = sources_.begin(); it != sources_.end();) {
    it->second.changed.clear();
    it = it->second.configured ? std::next(it) : sources_.erase(it);
  }
  owners_ = std::move(owners);
  return out;
}

std::vector<std::string> DiscoveredJobs::expire(Clock::time_point now) {
  std::vector<std::string> forgotten;
  for (auto it = gone_until_.begin(); it != gone_until_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    forgotten.push_back(it->first);
    it = gone_until_.erase(it);
  }
  return forgotten;
}

std::optional<DiscoveredJobs::Clock::time_point> DiscoveredJobs::next_expiry() const {
  std::optional<Clock::time_point> next;
  for (const auto& [job, until] : gone_until_)
    if (!next || until < *next) next = until;
  return next;
}

const Groups& DiscoveredJobs::groups(const std::string& job) const {
  return sources_.at(owners_.at(job)).split.jobs.at(job);
}

std::set<std::string> DiscoveredJobs::jobs_of(const std::string& source) const {
  std::set<std::string> out;
  for (const auto& [job, owner] : owners_)
    if (owner == source) out.insert(job);
  return out;
}

DiscoveredSettings DiscoveredJobs::settings() const {
  DiscoveredSettings out;
  for (const auto& [job, source] : owners_)
    out.emplace(job, sources_.at(source).split.settings.at(job));
  return out;
}

std::map<std::string, DiscoveredJobs::SourceStats> DiscoveredJobs::stats() const {
  std::map<std::string, SourceStats> out;
  for (const auto& name : order_) {
    const Source& source = sources_.at(name);
    SourceStats& s = out[name];
    s.skipped = source.split.skipped;
    s.problems = source.split.problems;
    s.clashes = source.clashes.size();
    for (const auto& [job, owner] : owners_) {
      if (owner != name) continue;
      ++s.jobs;
      for (const auto& g : source.split.jobs.at(job))
        s.targets += g.targets.size();
    }
  }
  return out;
}

}  // namespace muster::sd
