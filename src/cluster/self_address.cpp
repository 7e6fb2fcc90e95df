#include "cluster/self_address.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstring>

#include "common/endpoint.h"

namespace muster::cluster {

namespace ip = boost::asio::ip;

std::vector<ip::address> local_addresses() {
  std::vector<ip::address> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      ip::address_v4::bytes_type b;
      std::memcpy(b.data(), &a->sin_addr, b.size());
      out.emplace_back(ip::address_v4(b));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &a->sin6_addr, b.size());
      out.emplace_back(ip::address_v6(b, a->sin6_scope_id));
    }
  }
  freeifaddrs(list);
  return out;
}

bool names_this_node(std::string_view host_port, const ip::address& bound, uint16_t port,
                     const std::vector<ip::address>& local) {
  const auto their = parse_host_port(host_port);
  if (!their || their->port != port) return false;
  const std::string& host = their->host;
  boost::asio::io_context ioc;
  ip::tcp::resolver resolver(ioc);
  boost::system::error_code err;
  const auto results = resolver.resolve(host, "", err);
  if (err) return false;
  for (const auto& r : results) {
    const ip::address a = r.endpoint().address();
    if (a == bound) return true;
    if (bound.is_unspecified() && std::find(local.begin(), local.end(), a) != local.end())
      return true;
  }
  return false;
}

ip::address advertised_address(const ip::address& bound, const std::vector<ip::address>& local) {
  if (!bound.is_unspecified()) return bound;
  for (const ip::address& a : local)
    if (a.is_v4() && !a.is_loopback()) return a;
  for (const ip::address& a : local)
    if (a.is_v6() && !a.is_loopback() && !a.to_v6().is_link_local()) return a;
  return bound.is_v6() ? ip::address(ip::address_v6::loopback())
                       : ip::address(ip::address_v4::loopback());
}

std::string host_port(const ip::address& address, uint16_t port) {
  const std::string host = address.to_string();
  return (address.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace muster::cluster
