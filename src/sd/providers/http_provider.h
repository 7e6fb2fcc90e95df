#pragma once
// http_sd_configs: GET the URL every refresh_interval and read the Prometheus HTTP SD document
// with Prometheus's rules (docs/http_sd.md): status exactly 200, Content-Type application/json
// (optionally ; charset=utf-8), a strict list of target groups. Group i gets source "<url>:<i>"
// and the label __meta_url; a shorter list empties the lost indexes.
// Threading: as RefreshProvider.
#include <memory>
#include <string_view>

#include "sd/provider.h"
#include "sd/providers/tls_config.h"

namespace muster::sd {

class MapReader;

struct HttpConfig {
  static constexpr std::string_view type = "http", yaml_key = "http_sd_configs";
  std::string url;  // http://host[:port]/path or https://
  milliseconds refresh_interval{std::chrono::seconds(60)};
  TlsConfig tls;                              // for an https:// url
  static HttpConfig parse(MapReader& entry);  // http_config.cpp
  bool operator==(const HttpConfig&) const = default;
};

std::unique_ptr<Provider> make_provider(const HttpConfig& config, ProviderContext context);

// True when `content_type` is one Prometheus's http_sd accepts.
bool http_sd_content_type_ok(std::string_view content_type);

}  // namespace muster::sd
