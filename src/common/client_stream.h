#pragma once
// A client's connection: a connected TCP socket, with TLS over it when the client was given a
// context. An Asio stream (async_read_some, async_write_some), so that asio::async_write and
// Beast's HTTP reads take it as they take a socket. Header-only, for libmuster.
// Threading: lives on the socket's executor; the socket stays the caller's, who may close it
// (a SocketDeadline does) to end whatever runs on the stream.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <optional>
#include <string>

#include "common/tls.h"

namespace muster {

class ClientStream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  explicit ClientStream(boost::asio::ip::tcp::socket& socket) : socket_(socket) {}
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;
  executor_type get_executor() { return socket_.get_executor(); }

  // Once connected: with `tls`, the handshake with the server of `host` (a name or an IP
  // address, which its certificate must be for). False, with `error` set, when it fails.
  boost::asio::awaitable<bool> start(boost::asio::ssl::context* tls, const std::string& host,
                                     std::string* error = nullptr) {
    if (tls == nullptr) co_return true;
    tls_.emplace(socket_, *tls);
    tls::expect_server(tls_->native_handle(), host);
    auto [ec] = co_await tls_->async_handshake(boost::asio::ssl::stream_base::client,
                                               boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec && error != nullptr) *error = "TLS handshake with " + host + ": " + ec.message();
    co_return !ec;
  }

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_)
            tls_->async_read_some(b, std::move(handler));
          else
            socket_.async_read_some(b, std::move(handler));
        },
        token, buffers);
  }
  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_)
            tls_->async_write_some(b, std::move(handler));
          else
            socket_.async_write_some(b, std::move(handler));
        },
        token, buffers);
  }

 private:
  boost::asio::ip::tcp::socket& socket_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
};

}  // namespace muster
