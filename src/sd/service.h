#pragma once
// `muster sd` as one object: the configuration file, the manager with its providers on one
// io_context thread, the jobs discovered from job_discovery sources (each source is a job of the
// manager named "job_discovery/<name>", a name no configured job can have), the file_sd and
// prometheus_config outputs, and what the HTTP endpoints publish.
//
// Threading: the manager, the providers and the file output live on the service's own thread.
// reload(), published(), metrics_text() and stop() may be called from any thread; published()
// returns an immutable snapshot.
#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <boost/asio/steady_timer.hpp>

#include "sd/config.h"
#include "sd/discovered_jobs.h"
#include "sd/file_output.h"
#include "sd/manager.h"
#include "sd/prometheus_output.h"
#include "sd/published.h"

namespace muster::sd {

class Service {
 public:
  // Reads and applies `config_path`; the error says what is wrong with it.
  static std::variant<std::unique_ptr<Service>, std::string> start(std::string config_path);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Re-reads the file and applies it; unchanged providers keep running. A bad file changes
  // nothing. Returns the error, or "" on success. The output section is read at start only.
  std::string reload();
  std::shared_ptr<const Published> published() const;
  std::string metrics_text() const;
  const SdConfig& initial_config() const { return initial_; }
  void stop();

 private:
  explicit Service(std::string config_path, SdConfig config);
  void apply_and_publish(const SdConfig& config);  // from any thread but the service's
  std::string apply(const SdConfig& config);       // on the service thread
  void on_delta(const Delta& delta);               // on the service thread
  // The discovered jobs' part of a send: their documents, held and removed jobs.
  void discovered_delta(const Delta& delta, Published& next);
  void arm_expiry();  // forgets gone discovered jobs at their time (service thread)
  void write_files(Published& next);
  void publish(std::shared_ptr<Published> next);

  std::string config_path_;
  SdConfig initial_;
  boost::asio::io_context io_;
  std::unique_ptr<Manager> manager_;
  std::unique_ptr<FileOutput> file_output_;
  std::unique_ptr<PrometheusOutput> prometheus_output_;
  std::set<std::string> ever_;        // every job configured since start
  std::set<std::string> configured_;  // the jobs of the configuration applied
  DiscoveredJobs discovered_;
  // Jobs an earlier run published that are not configured (its files, the discovered jobs of its
  // Prometheus configuration): held (503, files kept) until every source has answered once.
  std::set<std::string> previous_run_jobs_;
  std::unique_ptr<boost::asio::steady_timer> expiry_timer_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Published> published_;
  metrics::Counter reloads_, reload_failures_;
  metrics::Gauge last_reload_ok_;
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace muster::sd
