#include "cluster/http_get.h"

#include <exception>

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
  // A peer's answer is input like any other: whatever it does (a huge declared length, memory
  // running out) costs this read, never the node (issue 27.1).
  try {
    boost::asio::ip::tcp::socket socket(ioc);
    // Copies before the first suspension: the caller's strings need not outlive it.
    // (Built outside the co_await: see ClientCore::request on GCC 12's temporaries.)
    std::string request = http_request_bytes(
        "GET", target, addr, bearer_lines(peer.token) + std::string(kPeerHeader) + ": 1\r\n");
    const auto tls = peer.tls ? peer.tls->current() : nullptr;
    auto response = co_await http_exchange(socket, addr, std::move(request), timeout,
                                           kPeerAnswerLimit, tls ? tls->context.get() : nullptr);
    if (!response)
      co_return GetResult{std::nullopt,
                          "no answer (connection refused, reset, timed out, or over the " +
                              std::to_string(kPeerAnswerLimit >> 20) + " MiB a peer may send)",
                          std::nullopt};
    if (response->result_int() != 200)
      co_return GetResult{std::nullopt, "HTTP " + std::to_string(response->result_int()),
                          std::nullopt};
    const auto clock = sender_clock_of((*response)["X-Muster-Clock"],
                                       (*response)[boost::beast::http::field::date]);
    co_return GetResult{std::move(response->body()), {}, clock};
  } catch (const std::exception& e) {
    co_return GetResult{std::nullopt, std::string("reading the answer failed: ") + e.what(),
                        std::nullopt};
  }
}

}  // namespace muster::cluster
