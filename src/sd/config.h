#pragma once
// The configuration of `muster sd`: Prometheus's shape (jobs with static_configs and
// *_sd_configs) plus an output section. Parsing is strict: an unknown key, a wrong type or a bad
// value is an error naming the key and its line.
// Threading: plain values and pure functions.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sd/target_group.h"

namespace muster::sd {

using std::chrono::milliseconds;

struct StaticConfig {  // every static_configs entry of a job, merged: Sources "0", "1", ...
  Groups groups;
  bool operator==(const StaticConfig&) const = default;
};
struct FileConfig {
  std::vector<std::string> files;  // patterns: '*' only in the last element, .json/.yml/.yaml
  milliseconds refresh_interval{std::chrono::minutes(5)};
  bool operator==(const FileConfig&) const = default;
};
struct HttpConfig {
  std::string url;  // http://host[:port]/path
  milliseconds refresh_interval{std::chrono::seconds(60)};
  bool operator==(const HttpConfig&) const = default;
};
struct ExecConfig {  // the CMDB hook: a command printing target groups as JSON
  std::vector<std::string> command;
  milliseconds refresh_interval{std::chrono::seconds(60)};
  milliseconds timeout{std::chrono::seconds(10)};
  bool operator==(const ExecConfig&) const = default;
};
struct DnsConfig {
  std::vector<std::string> names;
  std::string type = "SRV";  // SRV, A, AAAA
  uint16_t port = 0;         // required unless SRV
  milliseconds refresh_interval{std::chrono::seconds(30)};
  std::string nameserver;  // host:port; empty: the system's resolver configuration
  bool operator==(const DnsConfig&) const = default;
};
struct MusterConfig {
  std::vector<std::string> nodes;  // host:port
  std::string env;
  std::vector<std::string> appids;
  std::string zone;             // empty: every zone
  std::string scheme = "http";  // which address of an instance becomes __address__
  bool operator==(const MusterConfig&) const = default;
};
struct ConsulConfig {
  std::string server = "localhost:8500";
  std::string token, datacenter;
  std::vector<std::string> services, tags;
  std::map<std::string, std::string> node_meta;  // sent as node-meta=key:value
  std::string tag_separator = ",";
  bool allow_stale = true;
  milliseconds refresh_interval{std::chrono::seconds(30)};
  bool operator==(const ConsulConfig&) const = default;
};

using ProviderConfig = std::variant<StaticConfig, FileConfig, HttpConfig, ExecConfig, DnsConfig,
                                    MusterConfig, ConsulConfig>;

// "static", "file", "http", "exec", "dns", "muster", "consul".
std::string provider_type(const ProviderConfig& config);

struct JobConfig {
  std::string name;
  std::vector<ProviderConfig> providers;  // static ones merged into one, first
};

struct OutputConfig {
  std::string file_sd_dir;  // one <job>.json per job; empty: no files
  std::string listen;       // host:port of GET /sd/<job>, GET /sd, /metrics, POST /-/reload
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
};

// The configuration, or what is wrong ("line N: ..."); `origin` prefixes messages (a file name).
std::variant<SdConfig, std::string> parse_sd_config(std::string_view yaml,
                                                    const std::string& origin = "");

}  // namespace muster::sd
