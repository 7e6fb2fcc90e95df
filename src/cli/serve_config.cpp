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
    if (!kv.second.IsScalar()) {
      throw CLI::ValidationError("--config", path + ":" + std::to_string(line) + ": \"" + key +
                                                 "\" must be a single value");
    }
    from_file.push_back("--" + name + "=" + kv.second.as<std::string>());
  }
  from_file.insert(from_file.end(), args.begin(), args.end());
  return from_file;
}

}  // namespace muster::cli
