#pragma once
// The prometheus_config output (issue 20): writes the scrape configuration of the discovered jobs
// (sd/prometheus_config) when the damper says so, atomically (a temporary file renamed over it)
// and only when its text changed, then POSTs Prometheus's reload URL, retrying a failed reload
// with backoff (1, 2, 4, 8 s) unless a newer write supersedes it. A template that cannot be read
// or a file that cannot be written keeps the old file, is logged and counted, and is tried again
// after min_interval (or 5 s).
// Threading: everything on the sd's io_context thread; the counters may be read from any thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "common/metrics.h"
#include "sd/config.h"
#include "sd/prometheus_config.h"

namespace muster::sd {

class PrometheusOutput {
 public:
  PrometheusOutput(boost::asio::io_context& io, PrometheusConfigOutput config,
                   std::string file_sd_dir);
  ~PrometheusOutput();
  PrometheusOutput(const PrometheusOutput&) = delete;
  PrometheusOutput& operator=(const PrometheusOutput&) = delete;

  // The discovered jobs now. Called only once every job source has answered: until then the
  // file keeps what it has (a source that fails at start must not empty Prometheus).
  void update(const DiscoveredSettings& jobs);
  // muster sd was reloaded: the template may have changed; the file is rendered again.
  void refresh();
  void stop();
  // The discovered jobs of the file found at start (an earlier run's).
  const std::set<std::string>& jobs_at_start() const { return jobs_at_start_; }

  metrics::Counter writes;           // files written
  metrics::Counter write_failures;   // renders or writes that failed (template, disk)
  metrics::Counter reloads;          // reloads Prometheus accepted
  metrics::Counter reload_failures;  // reloads given up (after the retries, or superseded)
  metrics::Gauge skipped_jobs;       // discovered jobs left out of the last file
  metrics::Gauge jobs;               // discovered jobs in the last file

 private:
  void schedule();
  void write();
  void start_reload();

  boost::asio::io_context& io_;
  PrometheusConfigOutput config_;
  std::string file_sd_dir_;
  JobSetDamper damper_;
  boost::asio::steady_timer timer_;
  std::optional<JobSetDamper::Clock::time_point> armed_for_;
  // A write asked for though the jobs did not change: after a failure, or a new template.
  std::optional<JobSetDamper::Clock::time_point> retry_at_;
  bool started_ = false;   // update() has been called: the jobs are known
  std::string last_text_;  // what the file holds (read at start)
  std::set<std::string> jobs_at_start_;
  uint64_t reload_generation_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace muster::sd
