// Apart from tls_config.cpp, which the sd fuzz target links with the other parsers: this needs
// OpenSSL, parsing does not.
#include "common/tls.h"
#include "sd/providers/tls_config.h"

namespace muster::sd {

std::variant<std::shared_ptr<boost::asio::ssl::context>, std::string> tls_context(
    const TlsConfig& config) {
  return tls::client_context({config.ca_file, config.cert_file, config.key_file});
}

}  // namespace muster::sd
