#include "sd/prometheus_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "common/duration.h"

namespace muster::sd {

namespace {

using std::chrono::milliseconds;

// A duration of the template's global section, or Prometheus's default.
std::variant<milliseconds, std::string> global_duration(const YAML::Node& global,
                                                        const std::string& key,
                                                        milliseconds fallback) {
  if (!global.IsDefined() || global.IsNull()) return fallback;
  const YAML::Node n = global[key];
  if (!n.IsDefined() || n.IsNull()) return fallback;
  const auto d = n.IsScalar() ? parse_prometheus_duration(n.Scalar()) : std::nullopt;
  if (!d) return "global." + key + " is not a duration";
  return *d;
}

void emit_job(YAML::Emitter& e, const std::string& job, const ScrapeSettings& s,
              const PrometheusConfigOutput& output, const std::string& file_sd_dir) {
  e << YAML::BeginMap;
  e << YAML::Key << "job_name" << YAML::Value << YAML::DoubleQuoted << job;
  if (!s.scrape_interval.empty())
    e << YAML::Key << "scrape_interval" << YAML::Value << s.scrape_interval;
  if (!s.scrape_timeout.empty())
    e << YAML::Key << "scrape_timeout" << YAML::Value << s.scrape_timeout;
  if (!s.metrics_path.empty())
    e << YAML::Key << "metrics_path" << YAML::Value << YAML::DoubleQuoted << s.metrics_path;
  if (!s.scheme.empty()) e << YAML::Key << "scheme" << YAML::Value << s.scheme;
  if (!s.params.empty()) {
    e << YAML::Key << "params" << YAML::Value << YAML::BeginMap;
    for (const auto& [name, value] : s.params)
      e << YAML::Key << YAML::DoubleQuoted << name << YAML::Value << YAML::Flow << YAML::BeginSeq
        << YAML::DoubleQuoted << value << YAML::EndSeq;
    e << YAML::EndMap;
  }
  if (output.file_sd) {
    e << YAML::Key << "file_sd_configs" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    e << YAML::Key << "files" << YAML::Value << YAML::BeginSeq << YAML::DoubleQuoted
      << file_sd_dir + "/" + job + ".json" << YAML::EndSeq;
    e << YAML::EndMap << YAML::EndSeq;
  } else {
    e << YAML::Key << "http_sd_configs" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    e << YAML::Key << "url" << YAML::Value << YAML::DoubleQuoted << output.sd_url + "/sd/" + job;
    e << YAML::Key << "refresh_interval" << YAML::Value << format_duration(output.refresh_interval);
    e << YAML::EndMap << YAML::EndSeq;
  }
  e << YAML::EndMap;
}

}  // namespace

namespace {

std::variant<RenderedPrometheusConfig, std::string> render(const YAML::Node& root,
                                                           const DiscoveredSettings& jobs,
                                                           const PrometheusConfigOutput& output,
                                                           const std::string& file_sd_dir) {
  if (root.IsDefined() && !root.IsNull() && !root.IsMap()) return "the template is not a map";
  const YAML::Node global = root.IsMap() ? root["global"] : YAML::Node();
  const auto interval = global_duration(global, "scrape_interval", std::chrono::minutes(1));
  if (auto* problem = std::get_if<std::string>(&interval)) return *problem;
  const YAML::Node hand_written = root.IsMap() ? root["scrape_configs"] : YAML::Node();
  std::set<std::string> taken;
  if (hand_written.IsDefined() && !hand_written.IsNull()) {
    if (!hand_written.IsSequence()) return "scrape_configs is not a list";
    for (const auto& job : hand_written) {
      const YAML::Node name = job.IsMap() ? job["job_name"] : YAML::Node();
      if (!name.IsDefined() || !name.IsScalar()) return "a job of scrape_configs has no job_name";
      taken.insert(name.Scalar());
    }
  }

  RenderedPrometheusConfig out;
  YAML::Emitter e;
  e << YAML::Comment(
           "Written by muster sd: its template with the jobs it discovered. Edits here "
           "are overwritten; edit the template.")
    << YAML::Newline;
  e << YAML::BeginMap;
  if (root.IsMap()) {
    for (const auto& kv : root) {
      if (kv.first.Scalar() == "scrape_configs") continue;
      e << YAML::Key << kv.first << YAML::Value << kv.second;
    }
  }
  e << YAML::Key << "scrape_configs" << YAML::Value << YAML::BeginSeq;
  if (hand_written.IsSequence())
    for (const auto& job : hand_written)
      e << job;
  for (const auto& [job, settings] : jobs) {
    if (taken.contains(job)) {
      out.skipped.push_back(job + ": the template has a job of that name");
      continue;
    }
    const milliseconds job_interval =
        settings.scrape_interval.empty()
            ? std::get<milliseconds>(interval)
            : parse_prometheus_duration(settings.scrape_interval).value_or(milliseconds(0));
    if (!settings.scrape_timeout.empty() &&
        parse_prometheus_duration(settings.scrape_timeout).value_or(milliseconds(0)) >
            job_interval) {
      out.skipped.push_back(job + ": scrape_timeout " + settings.scrape_timeout +
                            " is longer than its scrape_interval");
      continue;
    }
    emit_job(e, job, settings, output, file_sd_dir);
  }
  e << YAML::EndSeq << YAML::EndMap;
  if (!e.good()) return "cannot write the configuration: " + e.GetLastError();
  out.text = std::string(e.c_str()) + "\n";
  return out;
}

}  // namespace

std::variant<RenderedPrometheusConfig, std::string> render_prometheus_config(
    std::string_view template_text, const DiscoveredSettings& jobs,
    const PrometheusConfigOutput& output, const std::string& file_sd_dir) {
  try {
    return render(YAML::Load(std::string(template_text)), jobs, output, file_sd_dir);
  } catch (const YAML::Exception& e) {
    // A syntax error, or a part of the wrong kind (a map where a list must be).
    return "line " + std::to_string(e.mark.line + 1) + ": " + e.msg;
  }
}

std::set<std::string> jobs_written_in(std::string_view text, const PrometheusConfigOutput& output,
                                      const std::string& file_sd_dir) {
  std::set<std::string> out;
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    // (A missing key gives a node that throws on all but IsDefined.)
    auto defined = [](const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); };
    const YAML::Node jobs = root.IsMap() ? root["scrape_configs"] : YAML::Node();
    if (!defined(jobs) || !jobs.IsSequence()) return out;
    for (const auto& job : jobs) {
      if (!job.IsMap() || !defined(job["job_name"]) || !job["job_name"].IsScalar()) continue;
      const std::string name = job["job_name"].Scalar();
      const YAML::Node sd = job[output.file_sd ? "file_sd_configs" : "http_sd_configs"];
      if (!defined(sd) || !sd.IsSequence() || sd.size() != 1 || !sd[0].IsMap()) continue;
      const YAML::Node given = sd[0][output.file_sd ? "files" : "url"];
      YAML::Node where = given;
      if (output.file_sd && defined(given) && given.IsSequence() && given.size() == 1)
        where.reset(given[0]);  // (not =, which would write into the document)
      const std::string ours =
          output.file_sd ? file_sd_dir + "/" + name + ".json" : output.sd_url + "/sd/" + name;
      if (defined(where) && where.IsScalar() && where.Scalar() == ours) out.insert(name);
    }
  } catch (const YAML::Exception&) {
    // Not a file of ours: nothing to hold back.
  }
  return out;
}

void JobSetDamper::observe(Clock::time_point now, const DiscoveredSettings& jobs) {
  observed_ = true;
  current_ = jobs;
  for (const auto& [job, settings] : written_)
    if (!current_.contains(job)) gone_since_.emplace(job, now);  // keeps the first time it went
  for (auto it = gone_since_.begin(); it != gone_since_.end();)
    it = current_.contains(it->first) ? gone_since_.erase(it) : std::next(it);
}

DiscoveredSettings JobSetDamper::wanted(Clock::time_point now) const {
  DiscoveredSettings out = current_;
  for (const auto& [job, since] : gone_since_)
    if (since + min_interval_ > now) out.emplace(job, written_.at(job));
  return out;
}

std::optional<JobSetDamper::Clock::time_point> JobSetDamper::due() const {
  const Clock::time_point earliest =
      last_write_ ? *last_write_ + min_interval_ : Clock::time_point::min();
  std::optional<Clock::time_point> at;
  if (!observed_) return std::nullopt;
  const bool changed = !last_write_ || std::any_of(current_.begin(), current_.end(), [&](auto& j) {
    const auto it = written_.find(j.first);
    return it == written_.end() || it->second != j.second;
  });
  if (changed) at = earliest;
  for (const auto& [job, since] : gone_since_) {
    const auto when = std::max(since + min_interval_, earliest);
    if (!at || when < *at) at = when;
  }
  return at;
}

const DiscoveredSettings& JobSetDamper::take(Clock::time_point now) {
  written_ = wanted(now);
  for (auto it = gone_since_.begin(); it != gone_since_.end();)
    it = written_.contains(it->first) ? std::next(it) : gone_since_.erase(it);
  last_write_ = now;
  return written_;
}

}  // namespace muster::sd
