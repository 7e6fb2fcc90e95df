// http_sd_configs entries: {url, refresh_interval}.
#include "sd/config_reader.h"
#include "sd/providers/http_provider.h"

namespace muster::sd {

HttpConfig HttpConfig::parse(MapReader& entry) {
  HttpConfig c;
  c.url = scalar(entry.required("url"), "url");
  if (c.url.rfind("http://", 0) != 0 || c.url.size() <= 7 || c.url[7] == '/')
    fail(entry.node(),
         "\"url\": \"" + c.url + "\" must be http://host[:port]/path (https is not supported)");
  entry.optional("refresh_interval", c.refresh_interval);
  return c;
}

}  // namespace muster::sd
