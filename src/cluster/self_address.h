#pragma once
// How a node knows its own addresses (issue 14.11): a configured node such as localhost:7190 is
// this node when it resolves to the address it is bound to, and a node bound to every address
// (0.0.0.0, ::) advertises one that others can reach.
// Threading: pure functions; they resolve names synchronously (call them at start-up only).
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace muster::cluster {

// This machine's interface addresses (getifaddrs), loopback included.
std::vector<boost::asio::ip::address> local_addresses();

// True when `host_port` names this node: same port, and a resolved address equal to `bound`, or,
// when `bound` is unspecified (0.0.0.0, ::), any of `local`. A name that does not resolve is not
// this node.
bool names_this_node(std::string_view host_port, const boost::asio::ip::address& bound,
                     uint16_t port, const std::vector<boost::asio::ip::address>& local);

// The address to advertise for a node bound to `bound`: `bound` itself unless it is unspecified;
// then the first IPv4 address of `local` that is not loopback (else IPv6, else loopback).
boost::asio::ip::address advertised_address(const boost::asio::ip::address& bound,
                                            const std::vector<boost::asio::ip::address>& local);

// host:port, with brackets around an IPv6 host.
std::string host_port(const boost::asio::ip::address& address, uint16_t port);

}  // namespace muster::cluster
