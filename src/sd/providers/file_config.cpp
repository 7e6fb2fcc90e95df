// file_sd_configs entries: {files: [pattern, ...], refresh_interval}.
#include "sd/config_reader.h"
#include "sd/providers/file_provider.h"

namespace muster::sd {

namespace {

// Prometheus's ^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$: a '*' only in the last path
// element, and one of the extensions. (By hand: std::regex trips GCC 12's -Wmaybe-uninitialized
// in sanitizer builds.)
bool file_pattern_ok(const std::string& f) {
  const size_t star = f.find('*');
  if (star != std::string::npos && f.find('/', star) != std::string::npos) return false;
  for (std::string_view ext : {".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"}) {
    if (f.size() >= ext.size() && std::string_view(f).substr(f.size() - ext.size()) == ext)
      return true;
  }
  return false;
}

}  // namespace

FileConfig FileConfig::parse(MapReader& entry) {
  FileConfig c;
  c.files = scalars(entry.required("files"), "files");
  if (c.files.empty())
    fail(entry.node(), "file_sd_configs entry needs at least one pattern in \"files\"");
  for (const auto& f : c.files) {
    if (!file_pattern_ok(f))
      fail(entry.node(),
           "file pattern \"" + f +
               "\" must end in .json, .yml or .yaml and may have '*' in its last element only");
  }
  entry.optional("refresh_interval", c.refresh_interval);
  return c;
}

}  // namespace muster::sd
