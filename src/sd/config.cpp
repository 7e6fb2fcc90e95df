#include "sd/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "sd/config_reader.h"
#include "sd/providers/all_providers.h"

namespace muster::sd {

namespace {

// ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ (it names the output file).
bool valid_job_name(const std::string& name) {
  if (name.empty() || name[0] == '.' || name[0] == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

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
    r.done();
    return config;
  } catch (const ConfigError& e) {
    return prefix + e.message;
  } catch (const YAML::Exception& e) {
    return prefix + "line " + std::to_string(e.mark.line + 1) + ": " + e.msg;
  }
}

}  // namespace muster::sd
