#pragma once
// exec_sd_configs, the CMDB hook: runs a command every refresh_interval (no shell; argv as
// configured) that prints target groups as JSON on stdout (the file_sd format). Group i gets source
// "<i>" and the label __meta_exec_command. A run that exits non-zero, prints a bad document or
// outlives `timeout` (it is then killed) fails: the last good targets stay. Its stderr is logged.
// Threading: as RefreshProvider.
#include <memory>
#include <string_view>

#include "sd/provider.h"

namespace muster::sd {

class MapReader;

struct ExecConfig {  // the CMDB hook: a command printing target groups as JSON
  static constexpr std::string_view type = "exec", yaml_key = "exec_sd_configs";
  std::vector<std::string> command;
  milliseconds refresh_interval{std::chrono::seconds(60)};
  milliseconds timeout{std::chrono::seconds(10)};
  static ExecConfig parse(MapReader& entry);  // exec_config.cpp
  bool operator==(const ExecConfig&) const = default;
};

std::unique_ptr<Provider> make_provider(const ExecConfig& config, ProviderContext context);

}  // namespace muster::sd
