#include "common/endpoint.h"

#include <boost/url/parse.hpp>

namespace muster {

std::string Endpoint::host_port() const {
  return join_host_port(host, port);
}

std::string join_host_port(std::string_view host, uint16_t port) {
  return join_host_port(host, std::to_string(port));
}

std::string join_host_port(std::string_view host, std::string_view port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string out;
  out.reserve(host.size() + port.size() + 3);
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  out += ':';
  out += port;
  return out;
}

std::optional<Endpoint> parse_url(std::string_view url) {
  const auto u = boost::urls::parse_uri(url);
  if (!u || !u->has_authority()) return std::nullopt;
  auto e = parse_host_port(u->encoded_authority());
  if (e) e->scheme = std::string(u->scheme());
  return e;
}

std::optional<Endpoint> parse_host_port(std::string_view text) {
  namespace urls = boost::urls;
  const auto parsed = urls::parse_authority(text);
  if (!parsed) return std::nullopt;
  const urls::authority_view& a = *parsed;
  if (a.has_userinfo() || !a.has_port()) return std::nullopt;
  const std::string_view port = a.port();
  if (port.empty() || port.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (const char c : port)
    value = value * 10 + static_cast<unsigned>(c - '0');  // the grammar allows digits only
  if (value > 65535) return std::nullopt;
  Endpoint e;
  e.port = static_cast<uint16_t>(value);
  switch (a.host_type()) {
    case urls::host_type::ipv4:
    case urls::host_type::ipv6:
      e.host = std::string(a.host_address());  // brackets off
      break;
    case urls::host_type::name:
      if (a.encoded_host().find('%') != std::string_view::npos) return std::nullopt;
      e.host = std::string(a.encoded_host());
      break;
    default:  // none, IPvFuture
      return std::nullopt;
  }
  if (e.host.empty()) return std::nullopt;
  return e;
}

}  // namespace muster
