#pragma once
// `tls_config` of the providers that speak HTTP (http_sd_configs, consul_sd_configs,
// muster_sd_configs), with Prometheus's keys: the CA of the server's certificate (empty: the
// system's trusted CAs), and a client certificate and its key for servers that require one.
// Threading: plain values and pure functions.
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <variant>

#include "sd/config_reader.h"

namespace muster::sd {

struct TlsConfig {
  std::string ca_file, cert_file, key_file;
  // Reads the `tls_config` key of `entry`, if there is one.
  static TlsConfig parse(MapReader& entry);
  bool operator==(const TlsConfig&) const = default;
};

// The client context of `config`, or why its files cannot make one.
std::variant<std::shared_ptr<boost::asio::ssl::context>, std::string> tls_context(
    const TlsConfig& config);

}  // namespace muster::sd
