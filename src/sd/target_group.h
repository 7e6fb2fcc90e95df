#pragma once
// Target groups, Prometheus's unit of discovery (discovery/targetgroup): targets (label sets, each
// with at least __address__), labels shared by the group, and the source that names the group
// within its provider. Also the file_sd / http_sd document format, read strictly as Prometheus
// reads it and written as Prometheus wants to read it.
// Threading: plain values and pure functions.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sd/label_set.h"
#include "sd/source.h"
#include "sd/targets.h"
#include "wire/prometheus_target.h"

namespace muster::sd {

// 40 bytes: a 1,000,000-group source is that, its target's labels and the store's pointer per
// group (the group's labels are shared, its source's name too).
struct TargetGroup {
  Targets targets;
  LabelSet labels;
  Source source;
  bool operator==(const TargetGroup&) const = default;
};

using Groups = std::vector<TargetGroup>;
// Groups held once and shared: the manager's store, a send and the outputs point at the same
// groups, so a source of 1,000,000 groups is not copied for each of them.
using SharedGroups = std::vector<std::shared_ptr<const TargetGroup>>;
// `groups` seen as shared groups that do not own them (valid while `groups` lives).
SharedGroups borrow(const Groups& groups);
// Groups, or what is wrong with the document.
using ParsedGroups = std::variant<Groups, std::string>;

// The JSON document ([{"targets":[...],"labels":{...}}, ...]) with Go's strict rules: unknown keys
// are errors (keys match case-insensitively), a null element is an error, a whole document of null
// is zero groups, label names must be valid and values strings.
ParsedGroups parse_groups_json(std::string_view text);
// The YAML form (yaml.v2 UnmarshalStrict): unknown or duplicate keys are errors, `targets` must be
// a list, an empty document or null is zero groups, scalar label values are taken as text.
ParsedGroups parse_groups_yaml(std::string_view text);

// Sets the label `name` to `value` in every group's labels (a provider's `__meta_filepath`):
// groups that shared their labels before still share them after.
void set_group_label(Groups& groups, std::string_view name, std::string_view value);

// True when `name` is a valid label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool valid_label_name(std::string_view name);
using wire::sanitize_label_name;  // util/strutil.SanitizeLabelName

// The file_sd / http_sd JSON document of `groups`. file_sd has no per-target labels: targets whose
// labels (group labels overlaid by the target's own, minus __address__) are equal share one output
// group, in order of first appearance. Targets without __address__ are left out.
std::string render_groups_json(const SharedGroups& groups);
inline std::string render_groups_json(const Groups& groups) {
  return render_groups_json(borrow(groups));
}
// The length of `s` written as a JSON string by Boost.JSON, quotes included.
size_t quoted_json_size(std::string_view s);

}  // namespace muster::sd
