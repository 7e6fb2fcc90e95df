#include "sd/metrics_text.h"

#include "common/metrics.h"

namespace muster::sd {

std::string render_sd_metrics(const Published& p, const ServiceCounters& c) {
  metrics::TextWriter w;
  auto one = [&](std::string_view name, double v) {
    w.family(name);
    w.sample(name, v);
  };
  w.family("muster_sd_discovered_targets");
  for (const auto& [job, n] : p.targets)
    w.sample("muster_sd_discovered_targets", {{"config", job}}, static_cast<double>(n));
  one("muster_sd_failed_configs", static_cast<double>(c.failed_configs));
  one("muster_sd_received_updates_total", static_cast<double>(c.received_updates));
  one("muster_sd_updates_total", static_cast<double>(c.updates));

  using Labels = metrics::TextWriter::Labels;
  auto per_provider = [&](std::string_view name, auto value) {
    w.family(name);
    for (const auto& v : p.providers) {
      std::string jobs;
      for (const auto& j : v.jobs)
        jobs += (jobs.empty() ? "" : ",") + j;
      const Labels labels{{"provider", v.name}, {"mechanism", v.type}, {"jobs", jobs}};
      w.sample(name, labels, value(*v.stats));
    }
  };
  per_provider("muster_sd_provider_updates_total",
               [](const ProviderStats& s) { return static_cast<double>(s.updates.value()); });
  per_provider("muster_sd_refresh_failures_total",
               [](const ProviderStats& s) { return static_cast<double>(s.failures.value()); });
  w.family("muster_sd_refresh_duration_seconds");
  for (const auto& v : p.providers) {
    const Labels labels{{"provider", v.name}, {"mechanism", v.type}};
    w.sample("muster_sd_refresh_duration_seconds_sum", labels,
             static_cast<double>(v.stats->refresh_nanos.value()) / 1e9);
    w.sample("muster_sd_refresh_duration_seconds_count", labels,
             static_cast<double>(v.stats->refreshes.value()));
  }
  one("muster_sd_file_writes_total", static_cast<double>(c.file_writes));
  one("muster_sd_file_write_failures_total", static_cast<double>(c.file_failures));
  auto per_source = [&](std::string_view name, auto value) {
    w.family(name);
    for (const auto& [source, stats] : p.sources)
      w.sample(name, {{"source", source}}, static_cast<double>(value(stats)));
  };
  using SourceStats = DiscoveredJobs::SourceStats;
  per_source("muster_sd_discovered_jobs", [](const SourceStats& s) { return s.jobs; });
  per_source("muster_sd_discovery_skipped_targets", [](const SourceStats& s) { return s.skipped; });
  per_source("muster_sd_discovery_job_clashes", [](const SourceStats& s) { return s.clashes; });
  if (const PrometheusOutput* out = c.prometheus_output) {
    one("muster_sd_prometheus_config_writes_total", static_cast<double>(out->writes.value()));
    one("muster_sd_prometheus_config_write_failures_total",
        static_cast<double>(out->write_failures.value()));
    one("muster_sd_prometheus_config_jobs", static_cast<double>(out->jobs.value()));
    one("muster_sd_prometheus_config_skipped_jobs", static_cast<double>(out->skipped_jobs.value()));
    one("muster_sd_prometheus_reloads_total", static_cast<double>(out->reloads.value()));
    one("muster_sd_prometheus_reload_failures_total",
        static_cast<double>(out->reload_failures.value()));
  }
  one("muster_sd_reloads_total", static_cast<double>(c.reloads));
  one("muster_sd_reload_failures_total", static_cast<double>(c.reload_failures));
  one("muster_sd_config_last_reload_successful", static_cast<double>(c.last_reload_ok));
  return w.take();
}

}  // namespace muster::sd
