#include "http/tls_socket.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>

namespace muster::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

TlsSocket::TlsSocket(tcp::socket& socket, SSL_CTX* context)
    : socket_(socket), ssl_(SSL_new(context)) {
  if (ssl_ != nullptr) SSL_set_fd(ssl_, socket_.native_handle());
}

TlsSocket::~TlsSocket() {
  SSL_free(ssl_);
}

asio::awaitable<bool> TlsSocket::retry(int result, boost::system::error_code& ec) {
  const int error = SSL_get_error(ssl_, result);
  const int saved_errno = errno;
  ERR_clear_error();  // a failure's queue must not speak for the next call
  constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    auto [wait_ec] = co_await socket_.async_wait(
        error == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write, kNoThrow);
    if (!wait_ec) co_return true;
    ec = wait_ec;
    co_return false;
  }
  if (error == SSL_ERROR_ZERO_RETURN) {
    ec = asio::error::eof;  // the client's close_notify
  } else if (error == SSL_ERROR_SYSCALL) {
    ec = saved_errno != 0 ? boost::system::error_code(saved_errno, boost::system::system_category())
                          : asio::error::eof;  // closed without close_notify
  } else {
    ec = asio::error::access_denied;  // a protocol failure: a refused certificate, a bad record
  }
  co_return false;
}

asio::awaitable<boost::system::error_code> TlsSocket::handshake() {
  boost::system::error_code ec = asio::error::no_memory;
  if (ssl_ == nullptr) co_return ec;
  ec = {};
  for (int i = 0; i < 64; ++i) {  // a handshake is a few round trips; bounded all the same
    ERR_clear_error();
    const int r = SSL_accept(ssl_);
    if (r == 1) co_return boost::system::error_code{};
    if (!co_await retry(r, ec)) co_return ec;
  }
  co_return asio::error::timed_out;
}

asio::awaitable<std::tuple<boost::system::error_code, size_t>> TlsSocket::read_some(
    asio::mutable_buffer buffer) {
  boost::system::error_code ec;
  for (;;) {
    ERR_clear_error();
    size_t n = 0;
    const int r = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n);
    if (r == 1) co_return std::tuple{boost::system::error_code{}, n};
    if (!co_await retry(r, ec)) co_return std::tuple{ec, size_t{0}};
  }
}

asio::awaitable<boost::system::error_code> TlsSocket::write(
    std::span<const asio::const_buffer> buffers) {
  boost::system::error_code ec;
  for (const asio::const_buffer& b : buffers) {
    size_t done = 0;
    while (done < b.size()) {
      ERR_clear_error();
      size_t n = 0;
      // Retried with the same arguments after a WANT_*, as OpenSSL requires.
      const int r =
          SSL_write_ex(ssl_, static_cast<const char*>(b.data()) + done, b.size() - done, &n);
      if (r == 1) {
        done += n;
        continue;
      }
      if (!co_await retry(r, ec)) co_return ec;
    }
  }
  co_return ec;
}

}  // namespace muster::http
