#include "sd/service.h"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <vector>

#include "sd/metrics_text.h"

namespace muster::sd {

namespace asio = boost::asio;

namespace {

std::variant<SdConfig, std::string> load(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return path + " is a directory: give the configuration file";
  std::ifstream in(path);
  if (!in) return "cannot read " + path + ": " + std::strerror(errno);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_sd_config(text.str(), path);
}

// Runs `fn` on the service thread and waits for its result. (Not bounded: `fn` may refer to the
// caller's frame; the thread only runs short handlers, so the wait is short.)
template <typename Fn>
auto on_thread(asio::io_context& io, Fn fn) {
  auto task = std::make_shared<std::packaged_task<decltype(fn())()>>(std::move(fn));
  auto result = task->get_future();
  asio::post(io, [task] { (*task)(); });
  return result.get();
}

// A job_discovery source's job in the manager. ('/' is not allowed in a configured job's name.)
constexpr std::string_view kSourcePrefix = "job_discovery/";

std::string source_job(const std::string& source) {
  return std::string(kSourcePrefix) + source;
}

// The source a manager's job stands for, or "" for a configured job.
std::string source_of(const std::string& job) {
  return job.starts_with(kSourcePrefix) ? job.substr(kSourcePrefix.size()) : std::string();
}

size_t target_count(const SharedGroups& groups) {
  size_t n = 0;
  for (const auto& g : groups)
    n += g->targets.size();
  return n;
}

}  // namespace

std::variant<std::unique_ptr<Service>, std::string> Service::start(std::string config_path) {
  auto loaded = load(config_path);
  if (auto* problem = std::get_if<std::string>(&loaded)) return *problem;
  SdConfig config = std::move(std::get<SdConfig>(loaded));
  if (!config.output.file_sd_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(config.output.file_sd_dir, ec);
    if (ec) return "cannot create file_sd_dir " + config.output.file_sd_dir + ": " + ec.message();
  }
  if (const auto& file = config.output.prometheus_config.file; !file.empty()) {
    std::error_code ec;
    const auto dir = std::filesystem::path(file).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) return "cannot create the directory of " + file + ": " + ec.message();
  }
  std::unique_ptr<Service> service(new Service(std::move(config_path), config));
  // Provider failures are not fatal (the job stays, empty); they are logged and counted.
  service->apply_and_publish(service->initial_);
  return service;
}

Service::Service(std::string config_path, SdConfig config)
    : config_path_(std::move(config_path)), initial_(std::move(config)) {
  last_reload_ok_.set(1);
  manager_ =
      std::make_unique<Manager>(io_, initial_.throttle, [this](const Delta& d) { on_delta(d); });
  if (!initial_.output.file_sd_dir.empty()) {
    file_output_ = std::make_unique<FileOutput>(initial_.output.file_sd_dir);
    previous_run_jobs_ = file_output_->owned();
  }
  if (!initial_.output.prometheus_config.file.empty()) {
    std::error_code ec;
    const auto dir = std::filesystem::absolute(initial_.output.file_sd_dir, ec);
    prometheus_output_ = std::make_unique<PrometheusOutput>(
        io_, initial_.output.prometheus_config, ec ? initial_.output.file_sd_dir : dir.string());
    previous_run_jobs_.insert(prometheus_output_->jobs_at_start().begin(),
                              prometheus_output_->jobs_at_start().end());
  }
  expiry_timer_ = std::make_unique<asio::steady_timer>(io_);
  published_ = std::make_shared<Published>();
  thread_ = std::thread([this] {
    auto work = asio::make_work_guard(io_);
    io_.run();
  });
}

Service::~Service() {
  stop();
}

void Service::stop() {
  if (stopped_) return;
  stopped_ = true;
  on_thread(io_, [this] {
    manager_->stop();
    if (prometheus_output_) prometheus_output_->stop();
    expiry_timer_->cancel();
    return 0;
  });
  io_.stop();
  if (thread_.joinable()) thread_.join();
  manager_.reset();
  prometheus_output_.reset();
  expiry_timer_.reset();
}

void Service::apply_and_publish(const SdConfig& config) {
  on_thread(io_, [&] { return apply(config); });
  // apply() posted a send of every job, unless the throttle holds it (never the first one).
  // One more turn of the loop runs a posted send, so the caller (start, then the port opens; a
  // reload, then its answer) sees what it sent: the files written, every job published or held.
  on_thread(io_, [] { return 0; });
}

std::string Service::apply(const SdConfig& config) {
  manager_->set_throttle(config.throttle);
  manager_->set_first_update_timeout(config.first_update_timeout);
  configured_.clear();
  for (const auto& job : config.jobs) {
    ever_.insert(job.name);
    configured_.insert(job.name);
  }
  for (auto it = previous_run_jobs_.begin(); it != previous_run_jobs_.end();)
    it = configured_.contains(*it) ? previous_run_jobs_.erase(it) : std::next(it);
  discovered_.configure(config.job_sources, configured_);
  std::vector<JobConfig> jobs = config.jobs;
  for (const auto& source : config.job_sources)
    jobs.push_back(JobConfig{source_job(source.name), source.providers});
  const auto failures = manager_->apply(jobs);
  auto next = std::make_shared<Published>(*published());
  next->providers = manager_->providers();
  // A job new to the outputs is held until a send carries it (the next one may wait for the
  // throttle): a 503, not the 404 of a job never configured, nor [].
  for (const auto& job : config.jobs) {
    next->removed.erase(job.name);
    if (!next->documents.contains(job.name)) next->held.insert(job.name);
  }
  publish(std::move(next));
  if (prometheus_output_) prometheus_output_->refresh();  // its template may have changed
  std::string out;
  for (const auto& f : failures)
    out += (out.empty() ? "" : "; ") + f;
  return out;
}

std::string Service::reload() {
  reloads_.inc();
  auto loaded = load(config_path_);
  if (auto* problem = std::get_if<std::string>(&loaded)) {
    reload_failures_.inc();
    last_reload_ok_.set(0);
    spdlog::error("sd: reload refused, the running configuration stays: {}", *problem);
    return *problem;
  }
  const SdConfig config = std::move(std::get<SdConfig>(loaded));
  if (config.output.file_sd_dir != initial_.output.file_sd_dir ||
      config.output.listen != initial_.output.listen)
    spdlog::warn("sd: the output section changed; it takes effect at the next start");
  apply_and_publish(config);
  last_reload_ok_.set(1);
  spdlog::info("sd: configuration reloaded from {} ({} jobs)", config_path_, config.jobs.size());
  // Providers that could not start are reported but do not fail the reload.
  return {};
}

void Service::on_delta(const Delta& delta) {
  auto next = std::make_shared<Published>(*published());
  for (const auto& [job, groups] : delta.changed) {
    if (const std::string source = source_of(job); !source.empty()) {
      discovered_.update(source, groups);
      continue;
    }
    next->documents[job] = std::make_shared<const std::string>(render_groups_json(groups));
    next->targets[job] = target_count(groups);
  }
  // Configured jobs that left; the discovered ones are settled below.
  auto stays = [&](const std::string& job) {
    return delta.jobs.contains(job) || discovered_.owners().contains(job);
  };
  for (auto it = next->documents.begin(); it != next->documents.end();)
    it = stays(it->first) ? std::next(it) : next->documents.erase(it);
  for (auto it = next->targets.begin(); it != next->targets.end();)
    it = stays(it->first) ? std::next(it) : next->targets.erase(it);
  next->held.clear();
  for (const auto& job : delta.held)
    if (source_of(job).empty()) next->held.insert(job);
  next->removed.clear();
  for (const auto& job : ever_)
    if (!delta.jobs.contains(job)) next->removed.insert(job);
  discovered_delta(delta, *next);
  next->providers = manager_->providers();
  write_files(*next);
  publish(std::move(next));
}

void Service::discovered_delta(const Delta& delta, Published& next) {
  const auto settled = discovered_.settle(std::chrono::steady_clock::now());
  for (const auto& job : settled.gone) {
    if (configured_.contains(job)) continue;  // a configured job took the name: its own now
    next.documents.erase(job);
    next.targets.erase(job);
  }
  for (const auto& job : settled.changed) {
    const SharedGroups groups = borrow(discovered_.groups(job));
    next.documents[job] = std::make_shared<const std::string>(render_groups_json(groups));
    next.targets[job] = target_count(groups);
  }
  for (const auto& [job, until] : discovered_.gone())
    if (!configured_.contains(job)) next.removed.insert(job);
  next.discovered = discovered_.owners();
  for (const auto& [job, source] : next.discovered)
    next.removed.erase(job);  // a job configured once, discovered now
  next.sources = discovered_.stats();
  for (const auto& [source, stats] : next.sources) {
    if (!delta.changed.contains(source_job(source)) || stats.skipped == 0) continue;
    std::string problems;
    for (const auto& p : stats.problems)
      problems += (problems.empty() ? "" : "; ") + p;
    spdlog::warn("sd: job_discovery {}: {} targets left out: {}", source, stats.skipped, problems);
  }
  // Until every source has answered once, the jobs a previous run wrote files for are held, and
  // the Prometheus configuration keeps what it has.
  bool waiting = false;
  for (const auto& job : delta.waiting)
    waiting = waiting || !source_of(job).empty();
  if (waiting) {
    for (const auto& job : previous_run_jobs_)
      if (!next.documents.contains(job)) next.held.insert(job);
  } else {
    previous_run_jobs_.clear();
    if (prometheus_output_) prometheus_output_->update(discovered_.settings());
  }
  arm_expiry();
}

void Service::write_files(Published& next) {
  if (!file_output_) return;
  if (auto problem = file_output_->write(next.documents, next.held); !problem.empty())
    spdlog::error("sd: file_sd output: {}", problem);
}

void Service::arm_expiry() {
  const auto at = discovered_.next_expiry();
  if (!at) {
    expiry_timer_->cancel();
    return;
  }
  expiry_timer_->expires_at(*at);
  expiry_timer_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    const auto forgotten = discovered_.expire(std::chrono::steady_clock::now());
    if (!forgotten.empty()) {
      auto next = std::make_shared<Published>(*published());
      std::vector<std::string> files;
      for (const auto& job : forgotten) {
        if (configured_.contains(job) || discovered_.owners().contains(job)) continue;
        next->removed.erase(job);
        files.push_back(job);
      }
      // Published first, then the files: whoever sees a file gone sees the job gone from /sd.
      publish(std::move(next));
      for (const auto& job : files) {
        if (!file_output_) break;
        if (auto problem = file_output_->forget(job); !problem.empty())
          spdlog::error("sd: file_sd output: {}", problem);
      }
    }
    arm_expiry();
  });
}

void Service::publish(std::shared_ptr<Published> next) {
  std::lock_guard lock(mutex_);
  published_ = std::move(next);
}

std::shared_ptr<const Published> Service::published() const {
  std::lock_guard lock(mutex_);
  return published_;
}

std::string Service::metrics_text() const {
  ServiceCounters c{reloads_.value(),
                    reload_failures_.value(),
                    last_reload_ok_.value(),
                    manager_->received_updates.value(),
                    manager_->updates.value(),
                    manager_->failed_configs.value(),
                    file_output_ ? file_output_->writes.value() : 0,
                    file_output_ ? file_output_->failures.value() : 0,
                    prometheus_output_.get()};
  return render_sd_metrics(*published(), c);
}

}  // namespace muster::sd
