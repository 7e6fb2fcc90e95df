#pragma once
// One HTTP/1.1 exchange as a client, with a deadline: what the SDK, the cluster and muster sd's
// providers send. Header-only (coroutines), so that libmuster can use it without linking the
// server's libraries.
// Threading: runs on the executor of the socket it is given.
#include <boost/asio.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/client_stream.h"
#include "common/endpoint.h"
#include "common/socket_deadline.h"

namespace muster {

using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// The bytes of a request with Connection: close. `headers` are extra lines, each ending in
// "\r\n"; a body gets Content-Length (and Content-Type when given).
inline std::string http_request_bytes(std::string_view method, std::string_view target,
                                      std::string_view host, std::string_view headers = {},
                                      std::string_view body = {},
                                      std::string_view content_type = {}) {
  std::string out;
  out.reserve(128 + target.size() + headers.size() + body.size());
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host);
  out.append("\r\nConnection: close\r\n").append(headers);
  if (!content_type.empty()) out.append("Content-Type: ").append(content_type).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PUT")
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  out.append("\r\n").append(body);
  return out;
}

// Where a streamed answer goes (http_exchange with a sink): `header` sees the status and headers
// first and may refuse the body (false: it is not read); `body` then takes the body in pieces as
// they arrive and may stop the read (false). The answer returned then has an empty body.
struct HttpBodySink {
  std::function<bool(const HttpResponse::header_type&)> header;
  std::function<bool(std::string_view)> body;
};

// Reads an answer's header, then its body in pieces of at most 64 KiB into `sink`: what is held
// is one piece, whatever the body's size.
template <class Stream>
boost::asio::awaitable<std::optional<HttpResponse>> read_streamed(Stream& stream,
                                                                  boost::beast::flat_buffer& buffer,
                                                                  uint64_t body_limit,
                                                                  const HttpBodySink& sink) {
  namespace http = boost::beast::http;
  constexpr auto no_throw = boost::asio::as_tuple(boost::asio::use_awaitable);
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(body_limit);
  auto [hec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, no_throw);
  if (hec) co_return std::nullopt;
  HttpResponse answer;
  answer.base() = parser.get().base();
  if (sink.header && !sink.header(answer.base())) co_return answer;
  std::string piece(64 * 1024, '\0');
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, no_throw);
    if (ec && ec != http::error::need_buffer) co_return std::nullopt;
    const size_t got = piece.size() - parser.get().body().size;
    if (got > 0 && !sink.body(std::string_view(piece.data(), got))) break;
  }
  co_return answer;
}

// Connects `socket` (closed; owned by the caller, who may close it to interrupt the exchange) to
// `addr` (host:port; a numeric address without the resolver, whose lookups run on a thread of
// their own), sends `request` and reads one response. nullopt on any failure, and when `timeout`
// passes (the socket is then closed abortively). With `tls`, the exchange runs over TLS with
// that context, and the server's certificate must be for the host of `addr`; a failed handshake
// is told in `why` when given.
inline boost::asio::awaitable<std::optional<HttpResponse>> http_exchange(
    boost::asio::ip::tcp::socket& socket, std::string addr, std::string request,
    std::chrono::nanoseconds timeout, uint64_t body_limit = 256ull * 1024 * 1024,
    boost::asio::ssl::context* tls = nullptr, std::string* why = nullptr,
    const HttpBodySink* sink = nullptr) {
  namespace asio = boost::asio;
  using tcp = asio::ip::tcp;
  constexpr auto no_throw = asio::as_tuple(asio::use_awaitable);
  const auto target = parse_host_port(addr);
  if (!target) co_return std::nullopt;
  const SocketDeadline deadline(socket.get_executor(), socket, timeout);
  const std::string& host = target->host;
  boost::system::error_code not_numeric;
  const auto ip = asio::ip::make_address(host, not_numeric);
  if (!not_numeric) {
    auto [ec] = co_await socket.async_connect(tcp::endpoint(ip, target->port), no_throw);
    if (ec || !socket.is_open()) co_return std::nullopt;
  } else {
    tcp::resolver resolver(socket.get_executor());
    auto [rec, endpoints] =
        co_await resolver.async_resolve(host, std::to_string(target->port), no_throw);
    if (rec) co_return std::nullopt;
    auto [ec, ep] = co_await asio::async_connect(socket, endpoints, no_throw);
    if (ec || !socket.is_open()) co_return std::nullopt;
  }
  ClientStream stream(socket);
  if (!co_await stream.start(tls, host, why)) co_return std::nullopt;
  auto [wec, written] = co_await asio::async_write(stream, asio::buffer(request), no_throw);
  if (wec) co_return std::nullopt;
  boost::beast::flat_buffer buffer;
  if (sink) co_return co_await read_streamed(stream, buffer, body_limit, *sink);
  boost::beast::http::response_parser<boost::beast::http::string_body> parser;
  parser.body_limit(body_limit);
  auto [ec, read] = co_await boost::beast::http::async_read(stream, buffer, parser, no_throw);
  if (ec) co_return std::nullopt;
  co_return parser.release();
}

}  // namespace muster
