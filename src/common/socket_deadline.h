#pragma once
// Closes a socket when the operation it guards takes longer than a timeout, which ends that
// operation with an error. The close is abortive (SO_LINGER 0: a reset, unsent data discarded):
// writes given up on must not reach the peer later, behind newer ones sent on a new connection
// (a late cancel would remove an instance registered again since). Destroying the guard when the
// operation ends disarms it, including a timer handler already queued to run: it then does
// nothing, and never touches a socket that may be gone.
// Threading: the guard, its timer and the socket live on one io_context thread.
#include <boost/asio.hpp>
#include <chrono>
#include <memory>

namespace muster {

class SocketDeadline {
 public:
  SocketDeadline(boost::asio::io_context& ioc, boost::asio::ip::tcp::socket& socket,
                 std::chrono::nanoseconds timeout)
      : SocketDeadline(ioc.get_executor(), socket, timeout) {}
  SocketDeadline(const boost::asio::any_io_executor& executor, boost::asio::ip::tcp::socket& socket,
                 std::chrono::nanoseconds timeout)
      : timer_(executor, timeout), done_(std::make_shared<bool>(false)) {
    timer_.async_wait([&socket, done = done_](const boost::system::error_code& ec) {
      if (ec || *done) return;
      boost::system::error_code ignored;
      socket.set_option(boost::asio::socket_base::linger(true, 0), ignored);
      socket.close(ignored);
    });
  }
  ~SocketDeadline() {
    *done_ = true;
    timer_.cancel();
  }
  SocketDeadline(const SocketDeadline&) = delete;
  SocketDeadline& operator=(const SocketDeadline&) = delete;

 private:
  boost::asio::steady_timer timer_;
  std::shared_ptr<bool> done_;
};

}  // namespace muster
