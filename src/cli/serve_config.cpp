#include "cli/serve_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

namespace muster::cli {
namespace {

std::string find_config_path(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind("--config=", 0) == 0) return args[i].substr(9);
  }
  return {};
}

// A YAML list of scalars as one option value.
std::string join_scalars(const YAML::Node& list, char sep, const std::string& where) {
  std::string out;
  for (const auto& item : list) {
    if (!item.IsScalar())
      throw CLI::ValidationError("--config", where + ": list items must be values");
    if (!out.empty()) out.push_back(sep);
    out += item.as<std::string>();
  }
  return out;
}

}  // namespace

std::vector<std::string> expand_config_file(const CLI::App& command,
                                            std::vector<std::string> args) {
  const std::string path = find_config_path(args);
  if (path.empty()) return args;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw CLI::ValidationError("--config", path + ": " + e.what());
  }
  if (root.IsNull()) return args;
  if (!root.IsMap()) throw CLI::ValidationError("--config", path + ": the top level must be a map");
  std::vector<std::string> from_file;
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    const int line = kv.first.Mark().line + 1;
    std::string name = key;
    std::replace(name.begin(), name.end(), '_', '-');
    const CLI::Option* option = command.get_option_no_throw("--" + name);
    if (option == nullptr || name == "config") {
      throw CLI::ValidationError(
          "--config", path + ":" + std::to_string(line) + ": unknown key \"" + key + "\"");
    }
    const auto where = path + ":" + std::to_string(line) + ": \"" + key + "\"";
    std::string value;
    if (kv.second.IsScalar()) {
      value = kv.second.as<std::string>();
    } else if (name == "nodes" && kv.second.IsSequence()) {
      value = join_scalars(kv.second, ',', where);  // nodes: [host:port, host:port]
    } else if (name == "zones" && kv.second.IsMap()) {
      // zones: {sh002: [host:port, host:port]} or {sh002: host:port}
      for (const auto& zone : kv.second) {
        if (!value.empty()) value.push_back(',');
        value += zone.first.as<std::string>() + "=";
        value += zone.second.IsSequence() ? join_scalars(zone.second, ';', where)
                                          : zone.second.as<std::string>();
      }
    } else {
      throw CLI::ValidationError("--config", where + " must be a single value" +
                                                 (name == "nodes"   ? " or a list"
                                                  : name == "zones" ? " or a map of zone to nodes"
                                                                    : ""));
    }
    from_file.push_back("--" + name + "=" + value);
  }
  from_file.insert(from_file.end(), args.begin(), args.end());
  return from_file;
}

}  // namespace muster::cli
