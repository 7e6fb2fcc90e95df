#include "cli/tokens_file.h"

#include <yaml-cpp/yaml.h>

namespace muster::cli {

namespace {

struct Bad {
  std::string message;
};

std::string at(const YAML::Node& node) {
  return " (line " + std::to_string(node.Mark().line + 1) + ")";
}

// A token is what an HTTP header carries: 1 to 512 visible ASCII characters, no space.
std::string token_of(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) throw Bad{what + " must be a string" + at(node)};
  const std::string t = node.Scalar();
  if (t.empty() || t.size() > 512) throw Bad{what + " must be 1 to 512 characters" + at(node)};
  for (char c : t)
    if (c <= ' ' || c > '~') throw Bad{what + " must be visible ASCII without spaces" + at(node)};
  return t;
}

std::vector<std::string> token_list(const YAML::Node& node, const std::string& key) {
  if (!node.IsSequence()) throw Bad{key + " must be a list of tokens" + at(node)};
  std::vector<std::string> out;
  for (const auto& item : node)
    out.push_back(token_of(item, "a token of " + key));
  return out;
}

std::vector<api::WriteToken> write_list(const YAML::Node& node) {
  if (!node.IsSequence()) throw Bad{"write must be a list of {token, appids} maps" + at(node)};
  std::vector<api::WriteToken> out;
  for (const auto& item : node) {
    if (!item.IsMap()) throw Bad{"each write entry must be a map of token and appids" + at(item)};
    api::WriteToken w;
    bool has_token = false, has_appids = false;
    for (const auto& kv : item) {
      const std::string key = kv.first.Scalar();
      if (key == "token") {
        w.token = token_of(kv.second, "write token");
        has_token = true;
      } else if (key == "appids") {
        if (!kv.second.IsSequence())
          throw Bad{"appids must be a list of appid prefixes" + at(kv.second)};
        for (const auto& p : kv.second) {
          if (!p.IsScalar()) throw Bad{"an appid prefix must be a string" + at(p)};
          w.appid_prefixes.push_back(p.Scalar());
        }
        has_appids = true;
      } else {
        throw Bad{"unknown key \"" + key + "\" in a write entry" + at(kv.first)};
      }
    }
    if (!has_token) throw Bad{"a write entry needs a token" + at(item)};
    if (!has_appids || w.appid_prefixes.empty())
      throw Bad{"a write entry needs appids (\"\" for every appid)" + at(item)};
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace

std::variant<api::Tokens, std::string> read_tokens_file(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return path + ": " + e.what();
  }
  // Fail closed (issue 27.4): a file without a single token would switch authentication off, and
  // a tool that truncates the file before writing it, racing a SIGHUP, must not do that.
  const std::string no_token =
      path +
      ": holds no token; an empty tokens file would turn authentication off (to run "
      "open, start without --tokens)";
  if (root.IsNull()) return no_token;
  if (!root.IsMap()) return path + ": the file must be a map of admin, write, read and peer";
  try {
    api::Tokens t;
    for (const auto& kv : root) {
      const std::string key = kv.first.Scalar();
      if (key == "admin") {
        t.admin = token_list(kv.second, key);
      } else if (key == "read") {
        t.read = token_list(kv.second, key);
      } else if (key == "peer") {
        t.peer = token_list(kv.second, key);
      } else if (key == "write") {
        t.write = write_list(kv.second);
      } else {
        throw Bad{"unknown key \"" + key + "\"" + at(kv.first)};
      }
    }
    if (t.empty()) return no_token;
    return t;
  } catch (const Bad& bad) {
    return path + ": " + bad.message;
  }
}

}  // namespace muster::cli
