#pragma once
// A network address as muster reads and writes it: `host:port`, the authority of RFC 3986, read
// with Boost.URL. An IPv6 literal is written in brackets ("[::1]:7171") and held without them, so
// it can be given to a resolver or to make_address as it is. The one reading of host:port for
// listening, dialling, peers, checks and muster sd.
// Threading: a plain value; the functions are pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace muster {

struct Endpoint {
  std::string host;  // a name, an IPv4 literal or an IPv6 literal (without brackets)
  uint16_t port = 0;
  std::string scheme;  // of a URL ("http"); "" for host:port
  // "host:port", with brackets around an IPv6 literal (Go's net.JoinHostPort).
  std::string host_port() const;
  bool operator==(const Endpoint&) const = default;
};

// "host:port" with a host (a name, IPv4, or [IPv6]) and a decimal port 0..65535, nothing more (no
// user, no path, no percent-encoding); nullopt otherwise. Port 0 is for listening on any port.
std::optional<Endpoint> parse_host_port(std::string_view text);

// "scheme://host:port", a path, query or fragment after it allowed (and left out): the endpoint
// with its scheme; nullopt without a scheme, a host or a port, or with a user.
std::optional<Endpoint> parse_url(std::string_view url);

// `host` and `port` as host:port, bracketing an IPv6 literal.
std::string join_host_port(std::string_view host, uint16_t port);
// The same with the port as given (a peer's answer written out as it came).
std::string join_host_port(std::string_view host, std::string_view port);

}  // namespace muster
