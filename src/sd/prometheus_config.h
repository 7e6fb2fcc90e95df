#pragma once
// The Prometheus scrape configuration muster sd writes for its discovered jobs (issue 20): the
// template (global settings, rule files, hand-written jobs) with one scrape_config per discovered
// job appended, each reading its targets from muster sd (http_sd or file_sd) and carrying the
// scrape settings its targets agree on. And the damper that decides when to write it: a flapping
// job must not make Prometheus reload over and over.
// Threading: pure functions; a JobSetDamper is used by one thread.
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sd/config.h"
#include "sd/job_split.h"

namespace muster::sd {

struct RenderedPrometheusConfig {
  std::string text;
  std::vector<std::string> skipped;  // discovered jobs left out, each with why
};

// The configuration file for `jobs`, or why the template cannot be used. A template job with a
// discovered job's name wins (the discovered one is skipped); so does a job whose settings
// Prometheus would refuse (a scrape_timeout longer than its interval), skipped rather than
// making Prometheus refuse the whole file. `file_sd_dir` must be absolute for targets: file_sd.
std::variant<RenderedPrometheusConfig, std::string> render_prometheus_config(
    std::string_view template_text, const DiscoveredSettings& jobs,
    const PrometheusConfigOutput& output, const std::string& file_sd_dir);

// The discovered jobs a file written by render_prometheus_config holds (the jobs that read their
// targets from this muster sd): what a restarted muster sd holds back until its sources answer.
std::set<std::string> jobs_written_in(std::string_view text, const PrometheusConfigOutput& output,
                                      const std::string& file_sd_dir);

// When to write: at most once per `min_interval` (the first change after a quiet interval at
// once, later ones together at the end of the interval), and a job that leaves is kept in the
// file until it has been gone for `min_interval`: a job that flaps never leaves it, and one
// change of a source is one write and one reload.
class JobSetDamper {
 public:
  using Clock = std::chrono::steady_clock;
  explicit JobSetDamper(std::chrono::milliseconds min_interval) : min_interval_(min_interval) {}

  // The discovered jobs now.
  void observe(Clock::time_point now, const DiscoveredSettings& jobs);
  // When the next write is due; nullopt: what is written is what should be.
  std::optional<Clock::time_point> due() const;
  // The jobs to write at `now` (due() <= now), taken as written.
  const DiscoveredSettings& take(Clock::time_point now);
  // The jobs of the last take().
  const DiscoveredSettings& written() const { return written_; }

 private:
  DiscoveredSettings wanted(Clock::time_point now) const;
  std::chrono::milliseconds min_interval_;
  bool observed_ = false;
  DiscoveredSettings current_;                           // as last observed
  std::map<std::string, Clock::time_point> gone_since_;  // written jobs not in current_
  DiscoveredSettings written_;
  std::optional<Clock::time_point> last_write_;
};

}  // namespace muster::sd
