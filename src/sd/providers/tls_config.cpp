#include "sd/providers/tls_config.h"

namespace muster::sd {

TlsConfig TlsConfig::parse(MapReader& entry) {
  TlsConfig c;
  const YAML::Node n = entry["tls_config"];
  if (!n.IsDefined() || n.IsNull()) return c;
  MapReader tls(n, "tls_config");
  tls.optional("ca_file", c.ca_file);
  tls.optional("cert_file", c.cert_file);
  tls.optional("key_file", c.key_file);
  tls.done();
  if (c.cert_file.empty() != c.key_file.empty())
    fail(n, "\"tls_config\": a client certificate needs both cert_file and key_file");
  return c;
}

}  // namespace muster::sd
