#pragma once
// static_configs: the job's fixed groups, sent once at start (sources "0", "1", ...).
// Threading: start() and stop() on the sd's io_context thread.
#include <memory>
#include <string_view>

#include "sd/provider.h"

namespace muster::sd {

class MapReader;

struct StaticConfig {  // every static_configs entry of a job, merged: Sources "0", "1", ...
  static constexpr std::string_view type = "static", yaml_key = "static_configs";
  Groups groups;
  static StaticConfig parse(MapReader& entry);  // static_config.cpp: one group, source "0"
  void merge(StaticConfig next);                // appends next's groups, numbering their sources
  bool operator==(const StaticConfig&) const = default;
};

class StaticProvider : public Provider {
 public:
  explicit StaticProvider(Groups groups) : groups_(std::move(groups)) {}
  void start(Send send) override { send(groups_); }
  void stop() override {}

 private:
  Groups groups_;
};

inline std::unique_ptr<Provider> make_provider(const StaticConfig& config, ProviderContext) {
  return std::make_unique<StaticProvider>(config.groups);
}

}  // namespace muster::sd
