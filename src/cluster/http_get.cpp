#include "cluster/http_get.h"

#include <limits>

#include "common/http_exchange.h"
#include "common/tls.h"

namespace muster::cluster {

std::string bearer_lines(std::string_view token) {
  if (token.empty()) return {};
  return "Authorization: Bearer " + std::string(token) + "\r\n";
}

boost::asio::awaitable<GetResult> http_get(boost::asio::io_context& ioc, const std::string& addr,
                                           std::string_view target,
                                           std::chrono::nanoseconds timeout,
                                           const PeerCredentials& peer) {
  boost::asio::ip::tcp::socket socket(ioc);
  // Copies before the first suspension: the caller's strings need not outlive it.
  // (Built outside the co_await: see ClientCore::request on GCC 12's temporaries.)
  std::string request = http_request_bytes("GET", target, addr, bearer_lines(peer.token));
  const auto tls = peer.tls ? peer.tls->current() : nullptr;
  auto response = co_await http_exchange(socket, addr, std::move(request), timeout,
                                         std::numeric_limits<uint64_t>::max(),
                                         tls ? tls->context.get() : nullptr);
  if (!response)
    co_return GetResult{std::nullopt, "no answer (connection refused, reset or timed out)"};
  if (response->result_int() != 200)
    co_return GetResult{std::nullopt, "HTTP " + std::to_string(response->result_int())};
  co_return GetResult{std::move(response->body()), {}};
}

}  // namespace muster::cluster
