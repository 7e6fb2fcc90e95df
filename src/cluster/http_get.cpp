#include "cluster/http_get.h"

#include <limits>

#include "common/http_exchange.h"

namespace muster::cluster {

boost::asio::awaitable<std::optional<std::string>> http_get(boost::asio::io_context& ioc,
                                                            const std::string& addr,
                                                            std::string_view target,
                                                            std::chrono::nanoseconds timeout) {
  boost::asio::ip::tcp::socket socket(ioc);
  // Copies before the first suspension: the caller's strings need not outlive it.
  // (Built outside the co_await: see ClientCore::request on GCC 12's temporaries.)
  std::string request = http_request_bytes("GET", target, addr);
  auto response = co_await http_exchange(socket, addr, std::move(request), timeout,
                                         std::numeric_limits<uint64_t>::max());
  if (!response || response->result_int() != 200) co_return std::nullopt;
  co_return std::move(response->body());
}

}  // namespace muster::cluster
