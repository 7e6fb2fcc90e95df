#pragma once
// The one-shot GET with which a node reads a peer's state (syncup, anti-entropy). Kept apart from
// the parsers so that their fuzz target builds without coroutines.
// Threading: runs on the io_context it is given.
#include <boost/asio.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "cluster/cluster_options.h"
#include "cluster/peer_answer.h"

namespace muster::cluster {

struct GetResult {
  std::optional<std::string> body;  // of a 200 answer
  std::string error;                // why there is none, for the log
  // The peer's wall clock (Unix ns) when it rendered the answer: its X-Muster-Clock header, else
  // its Date header (a Bilibili node's, to the second). What the leases in it are measured
  // against (docs/decisions.md §5.7).
  std::optional<int64_t> sender_clock;
};

// GET `target` from `addr` (host:port) with Connection: close; the body of a 200 answer, or why
// not (no answer within `timeout`, another HTTP status, or more than `body_limit` bytes). With
// `peer`'s token and TLS. Never throws.
boost::asio::awaitable<GetResult> http_get(boost::asio::io_context& ioc, const std::string& addr,
                                           std::string_view target,
                                           std::chrono::nanoseconds timeout,
                                           const PeerCredentials& peer = {});

// What a node's reads of its peers carry so that, with no token configured, the peer shows it
// whole (a Consul check's Header and Body, which other readers do not see: wire/instance_writer.h).
inline constexpr std::string_view kPeerHeader = "X-Muster-Peer";

// "Authorization: Bearer <token>\r\n", or "" for no token: the header line peers send.
std::string bearer_lines(std::string_view token);

}  // namespace muster::cluster
