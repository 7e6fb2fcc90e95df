#include "sd/target_group.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstring>
#include <deque>
#include <set>
#include <stdexcept>
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

// One group of the written document: its labels, its targets' count and bytes, and where the
// next of its addresses goes in the document.
struct OutGroup {
  const LabelSet* labels;
  size_t hash;
  size_t count = 0;
  size_t address_bytes = 0;  // quoted, without commas
  size_t cursor = 0;
  size_t written = 0;  // addresses written so far
};

// A group's labels as written: names as Prometheus takes them; two names that sanitize alike keep
// the first's place and the last's value.
std::vector<std::pair<std::string, std::string_view>> written_labels(const LabelSet& set) {
  std::vector<std::pair<std::string, std::string_view>> labels;
  for (const auto& [k, v] : set) {
    std::string name = sanitize_label_name(k);
    auto same =
        std::find_if(labels.begin(), labels.end(), [&](auto& l) { return l.first == name; });
    if (same != labels.end()) {
      same->second = v;
    } else {
      labels.emplace_back(std::move(name), v);
    }
  }
  return labels;
}

// Copies `text` to `doc` at `at` and moves `at` past it.
void put(std::string& doc, size_t& at, std::string_view text) {
  std::memcpy(doc.data() + at, text.data(), text.size());
  at += text.size();
}

void put_quoted(std::string& doc, size_t& at, std::string_view text) {
  put(doc, at, json::serialize(json::string_view(text)));
}

// Bytes of a group's labels as written, braces included.
size_t labels_size(const std::vector<std::pair<std::string, std::string_view>>& labels) {
  size_t n = 2 + (labels.empty() ? 0 : labels.size() - 1);
  for (const auto& [name, value] : labels)
    n += quoted_json_size(name) + 1 + quoted_json_size(value);
  return n;
}

constexpr std::string_view kTargetsOpen = "{\"targets\":[";
constexpr std::string_view kLabelsOpen = "],\"labels\":";

}  // namespace

size_t quoted_json_size(std::string_view s) {
  size_t n = s.size() + 2;
  for (const unsigned char c : s) {
    if (c == '"' || c == '\\') {
      n += 1;  // a backslash before it
    } else if (c < 0x20) {
      const bool short_form = c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t';
      n += short_form ? 1 : 5;  // two bytes for these, six (u and four hex digits) for others
    }
  }
  return n;
}

SharedGroups borrow(const Groups& groups) {
  SharedGroups out;
  out.reserve(groups.size());
  for (const auto& g : groups)
    out.emplace_back(std::shared_ptr<const TargetGroup>(), &g);  // aliasing: owns nothing
  return out;
}

std::string render_groups_json(const SharedGroups& groups) {
  // Made in place: one pass finds the output groups and counts their bytes, then the document is
  // allocated at its size, each group's labels written at its place and each address written
  // where its group's targets go on. Besides the document, 4 bytes a target: no copy of the
  // addresses, no string grown by doubling.
  std::vector<OutGroup> out;
  std::deque<LabelSet> merged;  // targets with labels of their own: their merged labels
  auto hash = [&](size_t i) { return out[i].hash; };
  auto equal = [&](size_t a, size_t b) { return *out[a].labels == *out[b].labels; };
  std::unordered_set<size_t, decltype(hash), decltype(equal)> index(16, hash, equal);
  std::vector<uint32_t> group_of;  // per target written, in order: its output group
  size_t targets = 0;
  for (const auto& shared : groups)
    targets += shared->targets.size();
  group_of.reserve(targets);
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
      out.push_back(OutGroup{labels, labels->hash()});
      auto [it, added] = index.insert(out.size() - 1);
      if (!added) out.pop_back();
      OutGroup& o = out[*it];
      ++o.count;
      o.address_bytes += quoted_json_size(address->second);
      group_of.push_back(static_cast<uint32_t>(*it));
    }
  }
  index.clear();
  // [ {"targets":[a,b],"labels":{...}} , ... ]
  size_t size = out.empty() ? 2 : 1 + out.size();
  for (const auto& o : out) {
    size += kTargetsOpen.size() + o.address_bytes + o.count - 1 + kLabelsOpen.size() +
            labels_size(written_labels(*o.labels)) + 1;
  }
  std::string doc(size, ' ');
  size_t at = 0;
  put(doc, at, "[");
  for (size_t i = 0; i < out.size(); ++i) {
    OutGroup& o = out[i];
    if (i > 0) put(doc, at, ",");
    put(doc, at, kTargetsOpen);
    o.cursor = at;
    at += o.address_bytes + o.count - 1;
    put(doc, at, kLabelsOpen);
    put(doc, at, "{");
    const auto labels = written_labels(*o.labels);
    for (size_t l = 0; l < labels.size(); ++l) {
      if (l > 0) put(doc, at, ",");
      put_quoted(doc, at, labels[l].first);
      put(doc, at, ":");
      put_quoted(doc, at, labels[l].second);
    }
    put(doc, at, "}}");
  }
  put(doc, at, "]");
  size_t next = 0;
  for (const auto& shared : groups) {
    for (const auto& t : shared->targets) {
      auto address = t.find("__address__");
      if (address == t.end()) continue;
      OutGroup& o = out[group_of[next++]];
      if (o.written++ > 0) put(doc, o.cursor, ",");
      put_quoted(doc, o.cursor, address->second);
    }
  }
  // Each group's addresses end where its labels begin, or a size was miscounted.
  for (const OutGroup& o : out) {
    if (at != doc.size() || doc.compare(o.cursor, kLabelsOpen.size(), kLabelsOpen) != 0)
      throw std::logic_error("render_groups_json: a size was miscounted");
  }
  return doc;
}

}  // namespace muster::sd
