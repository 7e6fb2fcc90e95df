#include "sd/config_reader.h"

#include "common/duration.h"
#include "common/endpoint.h"

namespace muster::sd {

void fail(const YAML::Node& at, const std::string& message) {
  throw ConfigError{"line " + std::to_string(at.Mark().line + 1) + ": " + message};
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

std::chrono::milliseconds duration(const YAML::Node& n, const std::string& key, bool zero_ok) {
  const std::string text = scalar(n, key);
  const auto d = parse_duration(text);
  if (!d || (!zero_ok && d->count() == 0))
    fail(n, "\"" + key + "\": \"" + text + "\" is not a " + (zero_ok ? "" : "positive ") +
                "duration (e.g. 30s, 5m)");
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

bool boolean(const YAML::Node& n, const std::string& key) {
  const std::string text = scalar(n, key);
  if (text == "true") return true;
  if (text == "false") return false;
  fail(n, "\"" + key + "\" must be true or false");
}

bool host_port(const std::string& s) {
  return parse_host_port(s).has_value();
}

MapReader::MapReader(const YAML::Node& node, std::string what)
    : node_(node), what_(std::move(what)) {
  if (!node.IsMap()) fail(node, what_ + " must be a map");
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (!seen.insert(key).second) fail(kv.first, "duplicate key \"" + key + "\" in " + what_);
  }
}

YAML::Node MapReader::operator[](const std::string& key) {
  known_.insert(key);
  for (const auto& kv : node_)
    if (kv.first.Scalar() == key) return kv.second;
  return YAML::Node(YAML::NodeType::Undefined);
}

YAML::Node MapReader::required(const std::string& key) {
  YAML::Node n = (*this)[key];
  if (!n.IsDefined() || n.IsNull()) fail(node_, what_ + " needs \"" + key + "\"");
  return n;
}

void MapReader::optional(const std::string& key, std::string& into) {
  if (auto v = (*this)[key]; v.IsDefined()) into = scalar(v, key);
}

void MapReader::optional(const std::string& key, std::vector<std::string>& into) {
  if (auto v = (*this)[key]; v.IsDefined()) into = scalars(v, key);
}

void MapReader::optional(const std::string& key, bool& into) {
  if (auto v = (*this)[key]; v.IsDefined()) into = boolean(v, key);
}

void MapReader::optional(const std::string& key, std::chrono::milliseconds& into, bool zero_ok) {
  if (auto v = (*this)[key]; v.IsDefined()) into = duration(v, key, zero_ok);
}

void MapReader::done() const {
  for (const auto& kv : node_) {
    const std::string key = kv.first.Scalar();
    if (!known_.contains(key)) fail(kv.first, "unknown key \"" + key + "\" in " + what_);
  }
}

}  // namespace muster::sd
