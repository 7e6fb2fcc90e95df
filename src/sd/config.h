#pragma once
// The configuration of `muster sd`: Prometheus's shape (jobs with static_configs and
// *_sd_configs) plus an output section. Parsing is strict: an unknown key, a wrong type or a bad
// value is an error naming the key and its line. Each mechanism's settings and their parser live
// with its provider (sd/providers/); sd/providers/all_providers.h lists them.
// Threading: plain values and pure functions.
#include <chrono>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sd/provider_config.h"

namespace muster::sd {

using std::chrono::milliseconds;

struct JobConfig {
  std::string name;
  std::vector<ProviderConfig> providers;  // in all_providers.h's order, each list's in its order
};

// A source of jobs (issue 20): its providers' targets are split by the value of `job_label`
// (a target's own label, else its group's) into one job per value, published like configured jobs.
struct JobSourceConfig {
  std::string name;       // names the source in the log and /metrics (a job name's characters)
  std::string job_label;  // the label whose value names a target's job
  // A job gone from the source answers [] (its file too) for this long, then is forgotten.
  milliseconds forget_removed_after{std::chrono::minutes(10)};
  // At most this many jobs: a CMDB record gone wrong (a label unique per host) must not make
  // thousands of jobs, files and scrape_configs; targets of jobs past it are left out.
  size_t max_jobs = 10'000;
  std::vector<ProviderConfig> providers;
};

// The Prometheus scrape configuration muster sd writes for the discovered jobs.
struct PrometheusConfigOutput {
  std::string file;           // written atomically; empty: no such output
  std::string template_file;  // global settings and hand-written jobs; empty: none
  bool file_sd = false;  // jobs read their <file_sd_dir>/<job>.json, else GET <sd_url>/sd/<job>
  std::string sd_url;    // http://host:port muster sd is reached at; default http://<listen>
  milliseconds refresh_interval{std::chrono::seconds(30)};  // of the written http_sd_configs
  std::string reload_url;  // POSTed after each write (Prometheus's /-/reload); empty: no reload
  // At most one write per interval; a job must be gone this long before it leaves the file.
  milliseconds min_interval{std::chrono::seconds(30)};
  bool operator==(const PrometheusConfigOutput&) const = default;
};

struct OutputConfig {
  std::string file_sd_dir;  // one <job>.json per job; empty: no files
  std::string listen;       // host:port of GET /sd/<job>, GET /sd, /metrics, POST /-/reload
  PrometheusConfigOutput prometheus_config;
};

struct SdConfig {
  // Changes are sent to the outputs at most once per throttle interval; 0 sends every change.
  milliseconds throttle{std::chrono::seconds(5)};
  // A job whose provider has not answered yet since it started (muster sd's start, or a reload
  // that made the provider) is held back for at most this long: its outputs keep what they had
  // (the file of the last run, the document before the reload) rather than go empty. 0: no hold.
  milliseconds first_update_timeout{std::chrono::seconds(30)};
  OutputConfig output;
  std::vector<JobConfig> jobs;
  std::vector<JobSourceConfig> job_sources;  // `job_discovery`
};

// ^[A-Za-z0-9_][A-Za-z0-9_.-]*$, at most 128 bytes: a job's name names its output file.
bool valid_job_name(std::string_view name);

// The configuration, or what is wrong ("line N: ..."); `origin` prefixes messages (a file name).
std::variant<SdConfig, std::string> parse_sd_config(std::string_view yaml,
                                                    const std::string& origin = "");

}  // namespace muster::sd
