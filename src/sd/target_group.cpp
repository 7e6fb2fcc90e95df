#include "sd/target_group.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>

#include "common/ascii_case.h"

namespace muster::sd {

namespace json = boost::json;

namespace {

std::string json_type(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "bool";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
    default:
      return "number";
  }
}

// One element of the JSON document; an error message or empty.
std::string group_from_json(const json::value& item, TargetGroup& group) {
  if (item.is_null()) return "nil target group item found";
  if (!item.is_object()) return "a target group must be an object, not " + json_type(item);
  for (const auto& [key, value] : item.get_object()) {
    if (equal_without_case(key, "targets")) {
      if (value.is_null()) continue;
      if (!value.is_array()) return "\"targets\" must be a list of strings";
      for (const auto& t : value.get_array()) {
        if (!t.is_string()) return "\"targets\" must be a list of strings";
        group.targets.push_back({{"__address__", std::string(t.get_string())}});
      }
    } else if (equal_without_case(key, "labels")) {
      if (value.is_null()) continue;
      if (!value.is_object()) return "\"labels\" must be an object of strings";
      for (const auto& [name, v] : value.get_object()) {
        if (!valid_label_name(name))
          return "\"" + std::string(name) + "\" is not a valid label name";
        if (!v.is_string())
          return "label \"" + std::string(name) + "\" must be a string, not " + json_type(v);
        group.labels[std::string(name)] = std::string(v.get_string());
      }
    } else {
      return "unknown field \"" + std::string(key) + "\"";
    }
  }
  return {};
}

std::string at_line(const YAML::Node& n) {
  return " (line " + std::to_string(n.Mark().line + 1) + ")";
}

std::string group_from_yaml(const YAML::Node& item, TargetGroup& group) {
  if (item.IsNull()) return "nil target group item found" + at_line(item);
  if (!item.IsMap()) return "a target group must be a map" + at_line(item);
  bool seen_targets = false, seen_labels = false;
  for (const auto& kv : item) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& value = kv.second;
    if (key == "targets") {
      if (seen_targets) return "duplicate key \"targets\"" + at_line(kv.first);
      seen_targets = true;
      if (value.IsNull()) continue;
      if (!value.IsSequence()) return "\"targets\" must be a list of strings" + at_line(value);
      for (const auto& t : value) {
        if (!t.IsScalar()) return "\"targets\" must be a list of strings" + at_line(t);
        group.targets.push_back({{"__address__", t.Scalar()}});
      }
    } else if (key == "labels") {
      if (seen_labels) return "duplicate key \"labels\"" + at_line(kv.first);
      seen_labels = true;
      if (value.IsNull()) continue;
      if (!value.IsMap()) return "\"labels\" must be a map of strings" + at_line(value);
      for (const auto& l : value) {
        const std::string name = l.first.Scalar();
        if (!valid_label_name(name))
          return "\"" + name + "\" is not a valid label name" + at_line(l.first);
        if (!l.second.IsScalar())
          return "label \"" + name + "\" must be a string" + at_line(l.second);
        if (group.labels.contains(name))
          return "duplicate label \"" + name + "\"" + at_line(l.first);
        group.labels[name] = l.second.Scalar();
      }
    } else {
      return "unknown field \"" + key + "\"" + at_line(kv.first);
    }
  }
  return {};
}

}  // namespace

bool valid_label_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

ParsedGroups parse_groups_json(std::string_view text) {
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec) return "invalid JSON: " + ec.message();
  if (doc.is_null()) return Groups{};
  if (!doc.is_array()) return "the document must be a list of target groups, not " + json_type(doc);
  Groups groups;
  for (const auto& item : doc.get_array()) {
    TargetGroup g;
    if (auto problem = group_from_json(item, g); !problem.empty()) return problem;
    groups.push_back(std::move(g));
  }
  return groups;
}

ParsedGroups parse_groups_yaml(std::string_view text) {
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return "invalid YAML: " + e.msg + " (line " + std::to_string(e.mark.line + 1) + ")";
  }
  if (!doc.IsDefined() || doc.IsNull()) return Groups{};
  if (!doc.IsSequence()) return "the document must be a list of target groups" + at_line(doc);
  Groups groups;
  for (const auto& item : doc) {
    TargetGroup g;
    if (auto problem = group_from_yaml(item, g); !problem.empty()) return problem;
    groups.push_back(std::move(g));
  }
  return groups;
}

std::string render_groups_json(const Groups& groups) {
  std::vector<std::pair<LabelSet, std::vector<std::string>>> out;
  std::map<LabelSet, size_t> index;  // labels -> position in `out`
  for (const auto& g : groups) {
    for (const auto& t : g.targets) {
      auto address = t.find("__address__");
      if (address == t.end()) continue;
      LabelSet labels = g.labels;
      for (const auto& [k, v] : t)
        if (k != "__address__") labels[k] = v;
      auto [it, added] = index.try_emplace(labels, out.size());
      if (added) out.emplace_back(std::move(labels), std::vector<std::string>{});
      out[it->second].second.push_back(address->second);
    }
  }
  json::array doc;
  for (auto& [labels, targets] : out) {
    json::object group;
    group["targets"] = json::value_from(targets);
    json::object l;
    for (const auto& [k, v] : labels)
      l[sanitize_label_name(k)] = v;
    group["labels"] = std::move(l);
    doc.push_back(std::move(group));
  }
  return json::serialize(doc);
}

}  // namespace muster::sd
