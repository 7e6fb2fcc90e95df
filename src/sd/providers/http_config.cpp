// http_sd_configs entries: {url, refresh_interval, tls_config}.
#include "sd/config_reader.h"
#include "sd/providers/http_provider.h"

namespace muster::sd {

HttpConfig HttpConfig::parse(MapReader& entry) {
  HttpConfig c;
  c.url = scalar(entry.required("url"), "url");
  const size_t rest = c.url.starts_with("https://") ? 8 : c.url.starts_with("http://") ? 7 : 0;
  if (rest == 0 || c.url.size() <= rest || c.url[rest] == '/')
    fail(entry.node(), "\"url\": \"" + c.url + "\" must be http[s]://host[:port]/path");
  entry.optional("refresh_interval", c.refresh_interval);
  c.tls = TlsConfig::parse(entry);
  return c;
}

}  // namespace muster::sd
