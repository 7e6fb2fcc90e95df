#pragma once
// Strict reading of muster sd's YAML configuration, shared by the configuration's own sections
// and each provider's parser (sd/providers/*_config.cpp): an unknown key, a key given twice, a
// wrong type or a bad value is an error naming the key and its line.
// Threading: pure functions; a MapReader is used by one thread.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

namespace muster::sd {

// Thrown by the readers and by fail(); parse_sd_config turns it into its error string.
struct ConfigError {
  std::string message;  // "line N: ..."
};

[[noreturn]] void fail(const YAML::Node& at, const std::string& message);

std::string scalar(const YAML::Node& n, const std::string& key);
std::vector<std::string> scalars(const YAML::Node& n, const std::string& key);  // null: empty
std::chrono::milliseconds duration(const YAML::Node& n, const std::string& key,
                                   bool zero_ok = false);
bool boolean(const YAML::Node& n, const std::string& key);
bool host_port(const std::string& s);  // host:port with a port of 0..65535

// Reads one YAML map strictly: each key at most once, every key known.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string what);
  const YAML::Node& node() const { return node_; }
  // The value of `key`, or an undefined node; marks the key known.
  YAML::Node operator[](const std::string& key);
  YAML::Node required(const std::string& key);
  // Optional keys: read into `into` when present, left at their default when absent.
  void optional(const std::string& key, std::string& into);
  void optional(const std::string& key, std::vector<std::string>& into);
  void optional(const std::string& key, bool& into);
  void optional(const std::string& key, std::chrono::milliseconds& into, bool zero_ok = false);
  // Fails on the first key that was never asked for.
  void done() const;

 private:
  const YAML::Node& node_;
  std::string what_;
  std::set<std::string> known_;
};

}  // namespace muster::sd
