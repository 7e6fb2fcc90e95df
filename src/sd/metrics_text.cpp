#include "sd/metrics_text.h"

#include "common/metrics.h"

namespace muster::sd {

std::string render_sd_metrics(const Published& p, const ServiceCounters& c) {
  metrics::TextWriter w;
  auto one = [&](std::string_view name, std::string_view type, std::string_view help, double v) {
    w.family(name, type, help);
    w.sample(name, v);
  };
  w.family("muster_sd_discovered_targets", "gauge", "Targets discovered per job (config).");
  for (const auto& [job, n] : p.targets)
    w.sample("muster_sd_discovered_targets", {{"config", job}}, static_cast<double>(n));
  one("muster_sd_failed_configs", "gauge", "Provider configurations that could not start.",
      static_cast<double>(c.failed_configs));
  one("muster_sd_received_updates_total", "counter", "Batches of groups received from providers.",
      static_cast<double>(c.received_updates));
  one("muster_sd_updates_total", "counter", "Snapshots sent to the outputs.",
      static_cast<double>(c.updates));

  using Labels = metrics::TextWriter::Labels;
  auto per_provider = [&](std::string_view name, std::string_view type, std::string_view help,
                          auto value) {
    w.family(name, type, help);
    for (const auto& v : p.providers) {
      std::string jobs;
      for (const auto& j : v.jobs)
        jobs += (jobs.empty() ? "" : ",") + j;
      const Labels labels{{"provider", v.name}, {"mechanism", v.type}, {"jobs", jobs}};
      w.sample(name, labels, value(*v.stats));
    }
  };
  per_provider("muster_sd_provider_updates_total", "counter", "Batches of groups a provider sent.",
               [](const ProviderStats& s) { return static_cast<double>(s.updates.value()); });
  per_provider("muster_sd_refresh_failures_total", "counter",
               "Refreshes, file reads or command runs of a provider that failed.",
               [](const ProviderStats& s) { return static_cast<double>(s.failures.value()); });
  w.family("muster_sd_refresh_duration_seconds", "summary",
           "Time providers spent refreshing (sum and count; no quantiles).");
  for (const auto& v : p.providers) {
    const Labels labels{{"provider", v.name}, {"mechanism", v.type}};
    w.sample("muster_sd_refresh_duration_seconds_sum", labels,
             static_cast<double>(v.stats->refresh_nanos.value()) / 1e9);
    w.sample("muster_sd_refresh_duration_seconds_count", labels,
             static_cast<double>(v.stats->refreshes.value()));
  }
  one("muster_sd_file_writes_total", "counter", "file_sd output files replaced.",
      static_cast<double>(c.file_writes));
  one("muster_sd_file_write_failures_total", "counter", "file_sd output files not written.",
      static_cast<double>(c.file_failures));
  auto per_source = [&](std::string_view name, std::string_view help, auto value) {
    w.family(name, "gauge", help);
    for (const auto& [source, stats] : p.sources)
      w.sample(name, {{"source", source}}, static_cast<double>(value(stats)));
  };
  using SourceStats = DiscoveredJobs::SourceStats;
  per_source("muster_sd_discovered_jobs", "Jobs a job_discovery source yields.",
             [](const SourceStats& s) { return s.jobs; });
  per_source("muster_sd_discovery_skipped_targets",
             "Targets of a job_discovery source left out (no job label, a bad job name or scrape "
             "setting).",
             [](const SourceStats& s) { return s.skipped; });
  per_source("muster_sd_discovery_job_clashes",
             "Job names of a job_discovery source lost to a configured job or an earlier source.",
             [](const SourceStats& s) { return s.clashes; });
  if (const PrometheusOutput* out = c.prometheus_output) {
    one("muster_sd_prometheus_config_writes_total", "counter",
        "Prometheus configuration files written.", static_cast<double>(out->writes.value()));
    one("muster_sd_prometheus_config_write_failures_total", "counter",
        "Prometheus configuration files not written (template or disk).",
        static_cast<double>(out->write_failures.value()));
    one("muster_sd_prometheus_config_jobs", "gauge",
        "Discovered jobs in the Prometheus configuration file.",
        static_cast<double>(out->jobs.value()));
    one("muster_sd_prometheus_config_skipped_jobs", "gauge",
        "Discovered jobs left out of the Prometheus configuration file.",
        static_cast<double>(out->skipped_jobs.value()));
    one("muster_sd_prometheus_reloads_total", "counter", "Reloads Prometheus accepted.",
        static_cast<double>(out->reloads.value()));
    one("muster_sd_prometheus_reload_failures_total", "counter",
        "Reloads of Prometheus given up after their retries.",
        static_cast<double>(out->reload_failures.value()));
  }
  one("muster_sd_reloads_total", "counter", "Configuration reloads asked for.",
      static_cast<double>(c.reloads));
  one("muster_sd_reload_failures_total", "counter", "Reloads refused for a bad configuration.",
      static_cast<double>(c.reload_failures));
  one("muster_sd_config_last_reload_successful", "gauge", "1 if the last reload succeeded.",
      static_cast<double>(c.last_reload_ok));
  return w.take();
}

}  // namespace muster::sd
