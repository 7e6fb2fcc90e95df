#pragma once
// The one-shot GET with which a node reads a peer's state (syncup, anti-entropy). Kept apart from
// the parsers so that their fuzz target builds without coroutines.
// Threading: runs on the io_context it is given.
#include <boost/asio.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "cluster/cluster_options.h"

namespace muster::cluster {

struct GetResult {
  std::optional<std::string> body;  // of a 200 answer
  std::string error;                // why there is none, for the log
};

// GET `target` from `addr` (host:port) with Connection: close; the body of a 200 answer, or why
// not (no answer within `timeout`, or another HTTP status). With `peer`'s token and TLS.
boost::asio::awaitable<GetResult> http_get(boost::asio::io_context& ioc, const std::string& addr,
                                           std::string_view target,
                                           std::chrono::nanoseconds timeout,
                                           const PeerCredentials& peer = {});

// "Authorization: Bearer <token>\r\n", or "" for no token: the header line peers send.
std::string bearer_lines(std::string_view token);

}  // namespace muster::cluster
