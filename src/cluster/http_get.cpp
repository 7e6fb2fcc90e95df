#include "cluster/http_get.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <limits>

#include "common/socket_deadline.h"

namespace muster::cluster {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

asio::awaitable<std::optional<std::string>> http_get(asio::io_context& ioc, const std::string& addr,
                                                     std::string_view target,
                                                     std::chrono::nanoseconds timeout) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos) co_return std::nullopt;
  tcp::resolver resolver(ioc);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(addr.substr(0, colon), addr.substr(colon + 1), kNoThrow);
  if (rec) co_return std::nullopt;
  tcp::socket socket(ioc);
  const SocketDeadline deadline(ioc, socket, timeout);
  auto [cec, ep] = co_await asio::async_connect(socket, endpoints, kNoThrow);
  if (cec || !socket.is_open()) co_return std::nullopt;
  const std::string request =
      "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n";
  auto [wec, w] = co_await asio::async_write(socket, asio::buffer(request), kNoThrow);
  if (wec) co_return std::nullopt;
  boost::beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  auto [ec, n] = co_await bhttp::async_read(socket, buffer, parser, kNoThrow);
  if (ec || parser.get().result_int() != 200) co_return std::nullopt;
  co_return std::move(parser.get().body());
}

}  // namespace muster::cluster
