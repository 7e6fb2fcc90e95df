#pragma once
// /metrics of `muster sd`: Prometheus's discovery series renamed with the prefix muster_sd_
// (per-job discovered targets, manager updates, failed configs) plus per-provider updates,
// failures and refresh durations, and the outputs' and reloads' counters.
// Threading: a pure function of its arguments; the counters it reads are atomics.
#include <cstdint>
#include <string>

#include "sd/prometheus_output.h"
#include "sd/published.h"

namespace muster::sd {

struct ServiceCounters {
  uint64_t reloads, reload_failures;
  int64_t last_reload_ok;
  uint64_t received_updates, updates;
  int64_t failed_configs;
  uint64_t file_writes, file_failures;
  const PrometheusOutput* prometheus_output;  // null without output.prometheus_config
};

std::string render_sd_metrics(const Published& published, const ServiceCounters& counters);

}  // namespace muster::sd
