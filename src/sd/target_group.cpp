#include "sd/target_group.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>
#include <deque>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "sd/groups_json_reader.h"

namespace muster::sd {

namespace json = boost::json;

namespace {

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
      std::vector<std::pair<std::string, std::string>> labels;
      std::set<std::string> names;
      for (const auto& l : value) {
        const std::string name = l.first.Scalar();
        if (!valid_label_name(name))
          return "\"" + name + "\" is not a valid label name" + at_line(l.first);
        if (!l.second.IsScalar())
          return "label \"" + name + "\" must be a string" + at_line(l.second);
        if (!names.insert(name).second)
          return "duplicate label \"" + name + "\"" + at_line(l.first);
        labels.emplace_back(name, l.second.Scalar());
      }
      group.labels = LabelSet(std::move(labels));
    } else {
      return "unknown field \"" + key + "\"" + at_line(kv.first);
    }
  }
  return {};
}

}  // namespace

void set_group_label(Groups& groups, std::string_view name, std::string_view value) {
  std::unordered_map<const void*, LabelSet> done;  // labels before -> after
  for (auto& g : groups) {
    auto [it, added] = done.try_emplace(g.labels.identity());
    if (added) {
      it->second = g.labels;
      it->second.set(name, value);
    }
    g.labels = it->second;
  }
}

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
  GroupsJsonReader reader;
  reader.write(text);
  return reader.finish();
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

namespace {

// One group of the written document: its labels and its targets' addresses.
struct OutGroup {
  const LabelSet* labels;
  size_t hash;
  std::vector<std::string_view> addresses;
};

void append_group(std::string& doc, const OutGroup& group) {
  doc += "{\"targets\":[";
  for (size_t i = 0; i < group.addresses.size(); ++i) {
    if (i > 0) doc += ',';
    doc += json::serialize(json::string_view(group.addresses[i]));
  }
  doc += "],\"labels\":{";
  // Names as Prometheus takes them; two names that sanitize alike keep the first's place and the
  // last's value.
  std::vector<std::pair<std::string, std::string_view>> labels;
  for (const auto& [k, v] : *group.labels) {
    std::string name = sanitize_label_name(k);
    auto same =
        std::find_if(labels.begin(), labels.end(), [&](auto& l) { return l.first == name; });
    if (same != labels.end()) {
      same->second = v;
    } else {
      labels.emplace_back(std::move(name), v);
    }
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) doc += ',';
    doc += json::serialize(json::string_view(labels[i].first));
    doc += ':';
    doc += json::serialize(json::string_view(labels[i].second));
  }
  doc += "}}";
}

}  // namespace

SharedGroups borrow(const Groups& groups) {
  SharedGroups out;
  out.reserve(groups.size());
  for (const auto& g : groups)
    out.emplace_back(std::shared_ptr<const TargetGroup>(), &g);  // aliasing: owns nothing
  return out;
}

std::string render_groups_json(const SharedGroups& groups) {
  // Pointers into `groups`: the document is the only thing of its size made here. Targets with
  // labels of their own get their merged labels made once, in `merged`.
  std::vector<OutGroup> out;
  std::deque<LabelSet> merged;
  auto hash = [&](size_t i) { return out[i].hash; };
  auto equal = [&](size_t a, size_t b) { return *out[a].labels == *out[b].labels; };
  std::unordered_set<size_t, decltype(hash), decltype(equal)> index(16, hash, equal);
  for (const auto& shared : groups) {
    const TargetGroup& g = *shared;
    for (const auto& t : g.targets) {
      auto address = t.find("__address__");
      if (address == t.end()) continue;
      const LabelSet* labels = &g.labels;
      if (t.size() > 1) {
        LabelSet own = g.labels;
        for (const auto& [k, v] : t)
          if (k != "__address__") own.set(k, v);
        labels = &merged.emplace_back(std::move(own));
      }
      out.push_back(OutGroup{labels, labels->hash(), {}});
      auto [it, added] = index.insert(out.size() - 1);
      if (!added) out.pop_back();
      out[*it].addresses.push_back(address->second);
    }
  }
  std::string doc = "[";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i > 0) doc += ',';
    append_group(doc, out[i]);
  }
  doc += ']';
  return doc;
}

}  // namespace muster::sd
