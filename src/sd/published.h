#pragma once
// What muster sd publishes after every send and reload: the documents of GET /sd/<job> and the
// file_sd files, and what /metrics counts.
// Threading: an immutable snapshot once built; shared between threads by shared_ptr<const>.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sd/discovered_jobs.h"
#include "sd/manager.h"

namespace muster::sd {

// What the HTTP endpoints answer, replaced as a whole after every send and reload.
struct Published {
  // job -> http_sd / file_sd JSON; shared between snapshots, so a send copies pointers only
  std::map<std::string, std::shared_ptr<const std::string>> documents;
  std::map<std::string, size_t> targets;  // job -> targets
  std::set<std::string> removed;          // jobs configured before, answered with []
  std::set<std::string> held;             // configured, waiting for a provider's first update
  std::map<std::string, std::string> discovered;  // discovered job -> its job_discovery source
  std::map<std::string, DiscoveredJobs::SourceStats> sources;  // per job_discovery source
  std::vector<Manager::ProviderView> providers;
};

}  // namespace muster::sd
