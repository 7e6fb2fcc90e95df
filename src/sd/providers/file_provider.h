#pragma once
// file_sd_configs (Prometheus's discovery/file): every file matching the patterns is read as JSON
// (.json) or YAML (.yml/.yaml) target groups. Group i of file p gets source "p:i" and the label
// __meta_filepath=p. The directories of the patterns are watched with inotify (any event but a
// pure attribute change re-reads everything), and refresh_interval re-reads as a backstop for a
// lost watch. A file that cannot be read or parsed keeps its last good groups; a file that
// vanished or shrank empties the groups it no longer has.
// Threading: runs on the context's io_context thread.
#include <memory>
#include <string_view>

#include "sd/provider.h"

namespace muster::sd {

class MapReader;

struct FileConfig {
  static constexpr std::string_view type = "file", yaml_key = "file_sd_configs";
  std::vector<std::string> files;  // patterns: '*' only in the last element, .json/.yml/.yaml
  milliseconds refresh_interval{std::chrono::minutes(5)};
  static FileConfig parse(MapReader& entry);  // file_config.cpp
  bool operator==(const FileConfig&) const = default;
};

std::unique_ptr<Provider> make_provider(const FileConfig& config, ProviderContext context);

}  // namespace muster::sd
