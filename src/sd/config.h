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
