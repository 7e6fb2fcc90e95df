#include "sd/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "common/duration.h"

namespace muster::sd {

namespace {

struct ConfigError {
  std::string message;
};

std::string line_of(const YAML::Node& n) {
  return "line " + std::to_string(n.Mark().line + 1);
}

[[noreturn]] void fail(const YAML::Node& at, const std::string& message) {
  throw ConfigError{line_of(at) + ": " + message};
}

std::string scalar(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) fail(n, "\"" + key + "\" must be a single value");
  return n.Scalar();
}

std::vector<std::string> scalars(const YAML::Node& n, const std::string& key) {
  if (n.IsNull()) return {};
  if (!n.IsSequence()) fail(n, "\"" + key + "\" must be a list");
  std::vector<std::string> out;
  for (const auto& item : n)
    out.push_back(scalar(item, key + " item"));
  return out;
}

milliseconds duration(const YAML::Node& n, const std::string& key, bool zero_ok = false) {
  const std::string text = scalar(n, key);
  const auto d = parse_duration(text);
  if (!d || (!zero_ok && d->count() == 0))
    fail(n, "\"" + key + "\": \"" + text + "\" is not a " + (zero_ok ? "" : "positive ") +
                "duration (e.g. 30s, 5m)");
  return std::chrono::duration_cast<milliseconds>(*d);
}

bool boolean(const YAML::Node& n, const std::string& key) {
  const std::string text = scalar(n, key);
  if (text == "true") return true;
  if (text == "false") return false;
  fail(n, "\"" + key + "\" must be true or false");
}

bool host_port(const std::string& s) {
  const size_t colon = s.rfind(':');
  return colon != std::string::npos && colon > 0 && colon + 1 < s.size() && s.size() - colon <= 6 &&
         s.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
         std::stoul(s.substr(colon + 1)) <= 65535;
}

// Prometheus's ^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$: a '*' only in the last path
// element, and one of the extensions. (By hand: std::regex trips GCC 12's -Wmaybe-uninitialized
// in sanitizer builds.)
bool file_pattern_ok(const std::string& f) {
  const size_t star = f.find('*');
  if (star != std::string::npos && f.find('/', star) != std::string::npos) return false;
  for (std::string_view ext : {".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"}) {
    if (f.size() >= ext.size() && std::string_view(f).substr(f.size() - ext.size()) == ext)
      return true;
  }
  return false;
}

// Reads one YAML map strictly: each key at most once, every key known.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string what) : node_(node), what_(std::move(what)) {
    if (!node.IsMap()) fail(node, what_ + " must be a map");
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      if (!seen.insert(key).second) fail(kv.first, "duplicate key \"" + key + "\" in " + what_);
    }
  }
  // The value of `key`, or an undefined node; marks the key known.
  YAML::Node operator[](const std::string& key) {
    known_.insert(key);
    for (const auto& kv : node_)
      if (kv.first.Scalar() == key) return kv.second;
    return YAML::Node(YAML::NodeType::Undefined);
  }
  YAML::Node required(const std::string& key) {
    YAML::Node n = (*this)[key];
    if (!n.IsDefined() || n.IsNull()) fail(node_, what_ + " needs \"" + key + "\"");
    return n;
  }
  // Optional keys: read into `into` when present, left at their default when absent.
  void optional(const std::string& key, std::string& into) {
    if (auto v = (*this)[key]; v.IsDefined()) into = scalar(v, key);
  }
  void optional(const std::string& key, std::vector<std::string>& into) {
    if (auto v = (*this)[key]; v.IsDefined()) into = scalars(v, key);
  }
  void optional(const std::string& key, bool& into) {
    if (auto v = (*this)[key]; v.IsDefined()) into = boolean(v, key);
  }
  void optional(const std::string& key, milliseconds& into, bool zero_ok = false) {
    if (auto v = (*this)[key]; v.IsDefined()) into = duration(v, key, zero_ok);
  }
  // Fails on the first key that was never asked for.
  void done() const {
    for (const auto& kv : node_) {
      const std::string key = kv.first.Scalar();
      if (!known_.contains(key)) fail(kv.first, "unknown key \"" + key + "\" in " + what_);
    }
  }

 private:
  const YAML::Node& node_;
  std::string what_;
  std::set<std::string> known_;
};

void static_config(const YAML::Node& n, StaticConfig& merged) {
  MapReader r(n, "static_configs entry");
  TargetGroup g;
  g.source = std::to_string(merged.groups.size());
  if (auto targets = r["targets"]; targets.IsDefined()) {
    for (const auto& t : scalars(targets, "targets"))
      g.targets.push_back({{"__address__", t}});
  }
  if (auto labels = r["labels"]; labels.IsDefined() && !labels.IsNull()) {
    if (!labels.IsMap()) fail(labels, "\"labels\" must be a map");
    for (const auto& kv : labels) {
      const std::string name = kv.first.Scalar();
      if (!valid_label_name(name)) fail(kv.first, "\"" + name + "\" is not a valid label name");
      g.labels[name] = scalar(kv.second, name);
    }
  }
  r.done();
  merged.groups.push_back(std::move(g));
}

FileConfig file_config(const YAML::Node& n) {
  MapReader r(n, "file_sd_configs entry");
  FileConfig c;
  c.files = scalars(r.required("files"), "files");
  if (c.files.empty()) fail(n, "file_sd_configs entry needs at least one pattern in \"files\"");
  for (const auto& f : c.files) {
    if (!file_pattern_ok(f))
      fail(n, "file pattern \"" + f +
                  "\" must end in .json, .yml or .yaml and may have '*' in its last element only");
  }
  r.optional("refresh_interval", c.refresh_interval);
  r.done();
  return c;
}

HttpConfig http_config(const YAML::Node& n) {
  MapReader r(n, "http_sd_configs entry");
  HttpConfig c;
  c.url = scalar(r.required("url"), "url");
  if (c.url.rfind("http://", 0) != 0 || c.url.size() <= 7 || c.url[7] == '/')
    fail(n, "\"url\": \"" + c.url + "\" must be http://host[:port]/path (https is not supported)");
  r.optional("refresh_interval", c.refresh_interval);
  r.done();
  return c;
}

ExecConfig exec_config(const YAML::Node& n) {
  MapReader r(n, "exec_sd_configs entry");
  ExecConfig c;
  c.command = scalars(r.required("command"), "command");
  if (c.command.empty()) fail(n, "\"command\" must name a program");
  r.optional("refresh_interval", c.refresh_interval);
  r.optional("timeout", c.timeout);
  r.done();
  return c;
}

DnsConfig dns_config(const YAML::Node& n) {
  MapReader r(n, "dns_sd_configs entry");
  DnsConfig c;
  c.names = scalars(r.required("names"), "names");
  if (c.names.empty()) fail(n, "\"names\" must list at least one name");
  r.optional("type", c.type);
  if (c.type != "SRV" && c.type != "A" && c.type != "AAAA")
    fail(n, "\"type\": \"" + c.type + "\" must be SRV, A or AAAA");
  if (auto p = r["port"]; p.IsDefined()) {
    const std::string text = scalar(p, "port");
    if (text.empty() || text.size() > 5 ||
        text.find_first_not_of("0123456789") != std::string::npos || std::stoul(text) == 0 ||
        std::stoul(text) > 65535)
      fail(p, "\"port\": \"" + text + "\" is not a port number");
    c.port = static_cast<uint16_t>(std::stoul(text));
  }
  if (c.type != "SRV" && c.port == 0) fail(n, "\"port\" is required for type " + c.type);
  r.optional("refresh_interval", c.refresh_interval);
  if (auto s = r["nameserver"]; s.IsDefined()) {
    c.nameserver = scalar(s, "nameserver");
    if (!host_port(c.nameserver))
      fail(s, "\"nameserver\": \"" + c.nameserver + "\" is not host:port");
  }
  r.done();
  return c;
}

MusterConfig muster_config(const YAML::Node& n) {
  MapReader r(n, "muster_sd_configs entry");
  MusterConfig c;
  c.nodes = scalars(r.required("nodes"), "nodes");
  for (const auto& node : c.nodes)
    if (!host_port(node)) fail(n, "node \"" + node + "\" is not host:port");
  if (c.nodes.empty()) fail(n, "\"nodes\" must list at least one node");
  c.env = scalar(r.required("env"), "env");
  c.appids = scalars(r.required("appids"), "appids");
  if (c.appids.empty()) fail(n, "\"appids\" must list at least one appid");
  r.optional("zone", c.zone);
  r.optional("scheme", c.scheme);
  r.done();
  return c;
}

ConsulConfig consul_config(const YAML::Node& n) {
  MapReader r(n, "consul_sd_configs entry");
  ConsulConfig c;
  r.optional("server", c.server);
  if (!host_port(c.server)) fail(n, "\"server\": \"" + c.server + "\" is not host:port");
  r.optional("token", c.token);
  r.optional("datacenter", c.datacenter);
  r.optional("services", c.services);
  r.optional("tags", c.tags);
  if (auto meta = r["node_meta"]; meta.IsDefined() && !meta.IsNull()) {
    if (!meta.IsMap()) fail(meta, "\"node_meta\" must be a map");
    for (const auto& kv : meta)
      c.node_meta[kv.first.Scalar()] = scalar(kv.second, kv.first.Scalar());
  }
  r.optional("tag_separator", c.tag_separator);
  r.optional("allow_stale", c.allow_stale);
  r.optional("refresh_interval", c.refresh_interval);
  r.done();
  return c;
}

// ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ (it names the output file).
bool valid_job_name(const std::string& name) {
  if (name.empty() || name[0] == '.' || name[0] == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

JobConfig job_config(const YAML::Node& n) {
  MapReader r(n, "job");
  JobConfig job;
  const YAML::Node name = r.required("job_name");
  job.name = scalar(name, "job_name");
  if (!valid_job_name(job.name))
    fail(name, "job_name \"" + job.name +
                   "\" must be letters, digits, '_', '.' or '-' (it names the output file)");
  // Each list of provider configs; the key names the mechanism.
  auto each = [&](const char* key, auto add) {
    YAML::Node list = r[key];
    if (!list.IsDefined() || list.IsNull()) return;
    if (!list.IsSequence()) fail(list, std::string("\"") + key + "\" must be a list");
    for (const auto& item : list)
      add(item);
  };
  StaticConfig statics;
  each("static_configs", [&](const YAML::Node& i) { static_config(i, statics); });
  if (!statics.groups.empty()) job.providers.emplace_back(std::move(statics));
  each("file_sd_configs", [&](const YAML::Node& i) { job.providers.emplace_back(file_config(i)); });
  each("http_sd_configs", [&](const YAML::Node& i) { job.providers.emplace_back(http_config(i)); });
  each("exec_sd_configs", [&](const YAML::Node& i) { job.providers.emplace_back(exec_config(i)); });
  each("dns_sd_configs", [&](const YAML::Node& i) { job.providers.emplace_back(dns_config(i)); });
  each("muster_sd_configs",
       [&](const YAML::Node& i) { job.providers.emplace_back(muster_config(i)); });
  each("consul_sd_configs",
       [&](const YAML::Node& i) { job.providers.emplace_back(consul_config(i)); });
  r.done();
  return job;
}

}  // namespace

std::string provider_type(const ProviderConfig& config) {
  static const char* const names[] = {"static", "file", "http", "exec", "dns", "muster", "consul"};
  return names[config.index()];
}

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
