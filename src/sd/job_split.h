#pragma once
// Jobs discovered from a source (issue 20): the target groups of a `job_discovery` source split
// into one job per value of its job label, and the scrape settings each job's targets carry.
//
// A target's job is its own value of the label, else its group's (Prometheus's order: a target's
// labels overlay its group's). A target without the label, with a value that is not a job name,
// or with a scrape setting Prometheus would refuse, is skipped and reported; the rest of the
// answer stands. The settings Prometheus 2.42 honours as target labels (scrape/target.go
// populateLabels): __scheme__, __metrics_path__, __scrape_interval__, __scrape_timeout__ and
// __param_<name> (the first value of that URL parameter); they stay on the targets, so every
// target is scraped as its source says, and a value every target of a job shares is also lifted
// into the job's scrape_config when muster sd writes one.
// Threading: pure functions.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sd/target_group.h"

namespace muster::sd {

// Prometheus's model.ParseDuration: [0-9]+ with units y w d h m s ms, largest first, each at
// most once ("1h30m", "15s", "0"); no fractions, no sign; at most what int64 nanoseconds hold
// (about 292 years), as Prometheus refuses more.
std::optional<std::chrono::milliseconds> parse_prometheus_duration(std::string_view text);

// What a job's targets all say about how to scrape them; an empty field: they do not agree, or
// none says (Prometheus's default or the scrape_config's own applies).
struct ScrapeSettings {
  std::string scheme, metrics_path, scrape_interval, scrape_timeout;
  std::map<std::string, std::string> params;  // name -> value, from __param_<name>
  bool operator==(const ScrapeSettings&) const = default;
};

using DiscoveredSettings = std::map<std::string, ScrapeSettings>;  // job -> settings

struct SplitJobs {
  std::map<std::string, Groups> jobs;  // job -> its part of each group, in the groups' order
  DiscoveredSettings settings;         // job -> what its targets agree on
  size_t skipped = 0;                  // targets left out
  std::vector<std::string> problems;   // why, the first few ("group <source>: target ...: ...")
};

// Splits `groups` by `job_label` into at most `max_jobs` jobs (the first names met; the targets
// of any later name are left out and reported).
SplitJobs split_by_job(const SharedGroups& groups, const std::string& job_label,
                       size_t max_jobs = 10'000);
inline SplitJobs split_by_job(const Groups& groups, const std::string& job_label,
                              size_t max_jobs = 10'000) {
  return split_by_job(borrow(groups), job_label, max_jobs);
}

}  // namespace muster::sd
