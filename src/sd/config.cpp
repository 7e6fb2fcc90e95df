#include "sd/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "sd/config_reader.h"
#include "sd/providers/all_providers.h"
#include "sd/target_group.h"

namespace muster::sd {

bool valid_job_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '.' || name[0] == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

namespace {

// The entries of one mechanism's list (its settings' yaml_key) into `out`: one config per entry,
// or one for all entries when the mechanism merges them (static_configs).
template <class Settings>
void read_provider_list(MapReader& job, std::vector<ProviderConfig>& out) {
  const std::string key(Settings::yaml_key);
  const YAML::Node list = job[key];
  if (!list.IsDefined() || list.IsNull()) return;
  if (!list.IsSequence()) fail(list, "\"" + key + "\" must be a list");
  std::optional<Settings> merged;
  for (const auto& item : list) {
    MapReader entry(item, key + " entry");
    Settings settings = Settings::parse(entry);
    entry.done();
    if constexpr (requires(Settings & a, Settings b) { a.merge(std::move(b)); }) {
      if (merged)
        merged->merge(std::move(settings));
      else
        merged = std::move(settings);
    } else {
      out.emplace_back(std::move(settings));
    }
  }
  if (merged) out.emplace_back(std::move(*merged));
}

template <class... Settings>
void read_providers(ProviderList<Settings...>, MapReader& job, std::vector<ProviderConfig>& out) {
  (read_provider_list<Settings>(job, out), ...);
}

JobConfig job_config(const YAML::Node& n) {
  MapReader r(n, "job");
  JobConfig job;
  const YAML::Node name = r.required("job_name");
  job.name = scalar(name, "job_name");
  if (!valid_job_name(job.name))
    fail(name, "job_name \"" + job.name +
                   "\" must be letters, digits, '_', '.' or '-' (it names the output file)");
  read_providers(AllProviders{}, r, job.providers);
  r.done();
  return job;
}

JobSourceConfig job_source_config(const YAML::Node& n) {
  MapReader r(n, "job_discovery entry");
  JobSourceConfig source;
  const YAML::Node name = r.required("name");
  source.name = scalar(name, "name");
  if (!valid_job_name(source.name))
    fail(name, "name \"" + source.name + "\" must be letters, digits, '_', '.' or '-'");
  const YAML::Node label = r.required("job_label");
  source.job_label = scalar(label, "job_label");
  if (!valid_label_name(source.job_label))
    fail(label, "job_label \"" + source.job_label + "\" is not a label name");
  r.optional("forget_removed_after", source.forget_removed_after, true);
  if (const YAML::Node max = r["max_jobs"]; max.IsDefined()) {
    const std::string text = scalar(max, "max_jobs");
    if (text.empty() || text.size() > 7 ||
        text.find_first_not_of("0123456789") != std::string::npos || std::stoul(text) == 0)
      fail(max, "\"max_jobs\" must be a number from 1 to 9999999");
    source.max_jobs = std::stoul(text);
  }
  read_providers(AllProviders{}, r, source.providers);
  if (source.providers.empty())
    fail(n, "job_discovery entry \"" + source.name + "\" has no *_sd_configs");
  r.done();
  return source;
}

// http[s]://host[:port] with nothing after it but an optional path.
bool http_url(const std::string& url) {
  const size_t rest = url.starts_with("https://") ? 8 : url.starts_with("http://") ? 7 : 0;
  return rest != 0 && url.size() > rest && url[rest] != '/';
}

PrometheusConfigOutput prometheus_config_output(const YAML::Node& n, const OutputConfig& output) {
  MapReader r(n, "prometheus_config");
  PrometheusConfigOutput p;
  p.file = scalar(r.required("file"), "file");
  r.optional("template", p.template_file);
  std::string targets = "http_sd";
  const YAML::Node targets_node = r["targets"];
  if (targets_node.IsDefined()) targets = scalar(targets_node, "targets");
  if (targets != "http_sd" && targets != "file_sd")
    fail(targets_node, "\"targets\" must be http_sd or file_sd");
  p.file_sd = targets == "file_sd";
  if (p.file_sd && output.file_sd_dir.empty())
    fail(n, "prometheus_config with targets: file_sd needs output.file_sd_dir");
  const YAML::Node sd_url = r["sd_url"];
  if (sd_url.IsDefined()) {
    p.sd_url = scalar(sd_url, "sd_url");
    if (!http_url(p.sd_url)) fail(sd_url, "\"sd_url\" must be http[s]://host[:port]");
    while (p.sd_url.ends_with('/'))
      p.sd_url.pop_back();
  } else if (!p.file_sd) {
    if (output.listen.empty())
      fail(n, "prometheus_config with targets: http_sd needs output.listen or sd_url");
    p.sd_url = "http://" + output.listen;
  }
  r.optional("refresh_interval", p.refresh_interval);
  const YAML::Node reload = r["reload_url"];
  if (reload.IsDefined()) {
    p.reload_url = scalar(reload, "reload_url");
    if (!http_url(p.reload_url)) fail(reload, "\"reload_url\" must be http[s]://host[:port]/path");
  }
  r.optional("min_interval", p.min_interval, true);
  r.done();
  return p;
}

}  // namespace

std::variant<SdConfig, std::string> parse_sd_config(std::string_view yaml,
                                                    const std::string& origin) {
  const std::string prefix = origin.empty() ? "" : origin + ": ";
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    SdConfig config;
    if (!root.IsDefined() || root.IsNull()) return config;
    MapReader r(root, "the configuration");
    r.optional("throttle", config.throttle, true);
    r.optional("first_update_timeout", config.first_update_timeout, true);
    if (auto out = r["output"]; out.IsDefined() && !out.IsNull()) {
      MapReader o(out, "output");
      o.optional("file_sd_dir", config.output.file_sd_dir);
      if (auto l = o["listen"]; l.IsDefined()) {
        config.output.listen = scalar(l, "listen");
        if (!host_port(config.output.listen))
          fail(l, "\"listen\": \"" + config.output.listen + "\" is not host:port");
      }
      if (auto p = o["prometheus_config"]; p.IsDefined() && !p.IsNull())
        config.output.prometheus_config = prometheus_config_output(p, config.output);
      o.done();
    }
    // "scrape_configs" as in prometheus.yml, or the shorter "jobs".
    // (No YAML::Node assignment: it would write into the document.)
    const YAML::Node short_jobs = r["jobs"];
    const YAML::Node scrape = r["scrape_configs"];
    if (short_jobs.IsDefined() && scrape.IsDefined())
      fail(scrape, "use either \"jobs\" or \"scrape_configs\", not both");
    const YAML::Node& jobs = scrape.IsDefined() ? scrape : short_jobs;
    if (jobs.IsDefined() && !jobs.IsNull()) {
      if (!jobs.IsSequence()) fail(jobs, "\"jobs\" must be a list");
      std::set<std::string> names;
      for (const auto& j : jobs) {
        JobConfig job = job_config(j);
        if (!names.insert(job.name).second) fail(j, "job_name \"" + job.name + "\" is used twice");
        config.jobs.push_back(std::move(job));
      }
    }
    if (auto sources = r["job_discovery"]; sources.IsDefined() && !sources.IsNull()) {
      if (!sources.IsSequence()) fail(sources, "\"job_discovery\" must be a list");
      std::set<std::string> names;
      for (const auto& s : sources) {
        JobSourceConfig source = job_source_config(s);
        if (!names.insert(source.name).second)
          fail(s, "job_discovery name \"" + source.name + "\" is used twice");
        config.job_sources.push_back(std::move(source));
      }
    }
    r.done();
    return config;
  } catch (const ConfigError& e) {
    return prefix + e.message;
  } catch (const YAML::Exception& e) {
    return prefix + "line " + std::to_string(e.mark.line + 1) + ": " + e.msg;
  }
}

}  // namespace muster::sd
