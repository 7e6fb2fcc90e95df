#pragma once
// The server's side of one TLS connection: OpenSSL reads and writes the connection's descriptor
// itself (SSL_set_fd) without blocking, and the coroutine waits for the socket to turn readable
// or writable when OpenSSL asks it to, as nginx does. Asio's ssl::stream, used before, copies
// every record through a BIO pair and two buffers of its own, and sends every answer through
// the reactor: measured, it held 77 KiB per parked poll and gave 0.69 of nginx's renews/s over
// TLS (docs/benchmarks.md). With SSL_MODE_RELEASE_BUFFERS an idle connection holds little more
// than its SSL object.
// Threading: one connection, on its worker's thread. The socket stays the session's: closing it
// (the deadline sweep does) ends whatever operation is waiting.
#include <boost/asio.hpp>
#include <span>
#include <tuple>

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;

namespace muster::http {

class TlsSocket {
 public:
  // `socket` must be connected and non-blocking; `context` is the server's.
  TlsSocket(boost::asio::ip::tcp::socket& socket, SSL_CTX* context);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  // The server's handshake; an error when it fails (the client's certificate among the causes).
  boost::asio::awaitable<boost::system::error_code> handshake();
  // Some bytes into `buffer`: how many, or an error (eof when the client closed).
  boost::asio::awaitable<std::tuple<boost::system::error_code, size_t>> read_some(
      boost::asio::mutable_buffer buffer);
  // All of `buffers`, in order.
  boost::asio::awaitable<boost::system::error_code> write(
      std::span<const boost::asio::const_buffer> buffers);
  SSL* native_handle() { return ssl_; }

 private:
  // After an SSL call returned `result`: waits for what OpenSSL needs and returns true to call
  // again, or sets `ec` and returns false.
  boost::asio::awaitable<bool> retry(int result, boost::system::error_code& ec);

  boost::asio::ip::tcp::socket& socket_;
  SSL* ssl_;
};

}  // namespace muster::http
