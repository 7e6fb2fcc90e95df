// static_configs entries: {targets: [host:port, ...], labels: {name: value}}.
#include "sd/config_reader.h"
#include "sd/providers/static_provider.h"

namespace muster::sd {

StaticConfig StaticConfig::parse(MapReader& entry) {
  TargetGroup g;
  g.source = Source::group_of(Source(), 0);
  if (auto targets = entry["targets"]; targets.IsDefined()) {
    for (const auto& t : scalars(targets, "targets"))
      g.targets.push_back({{"__address__", t}});
  }
  if (auto labels = entry["labels"]; labels.IsDefined() && !labels.IsNull()) {
    if (!labels.IsMap()) fail(labels, "\"labels\" must be a map");
    for (const auto& kv : labels) {
      const std::string name = kv.first.Scalar();
      if (!valid_label_name(name)) fail(kv.first, "\"" + name + "\" is not a valid label name");
      g.labels.set(name, scalar(kv.second, name));
    }
  }
  return StaticConfig{{std::move(g)}};
}

void StaticConfig::merge(StaticConfig next) {
  for (auto& g : next.groups) {
    g.source = Source::group_of(Source(), groups.size());
    groups.push_back(std::move(g));
  }
}

}  // namespace muster::sd
