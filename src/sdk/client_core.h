#pragma once
// The shared machinery behind a Client: its io_context and thread, the node it talks to, and one
// HTTP request with a timeout. Internal to libmuster.
// Threading: request() and the node rotation run on the core's thread; options() anywhere.
#include <atomic>
#include <boost/asio.hpp>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "common/tls.h"
#include "muster/client.h"

namespace muster::detail {

struct HttpResult {
  int status = 0;
  std::string body;
};

// What a caller may add to one request, and how it interrupts it (core thread only).
struct RequestControl {
  std::chrono::milliseconds timeout{0};  // 0: options().request_timeout
  std::string headers;                   // extra header lines, each ending in "\r\n"
  // Set while the request runs: interrupt() closes its socket, which ends it as a failure that
  // does not count against the node (no move to the next node).
  boost::asio::ip::tcp::socket* socket = nullptr;
  bool interrupted = false;
  std::string failure;  // why the request failed, when known (a TLS handshake)
  void interrupt() {
    interrupted = true;
    if (socket != nullptr) {
      boost::system::error_code ignored;
      socket->close(ignored);
    }
  }
};

class PollLoop;

// A node of ClientOptions::nodes: its host:port, and whether it is reached over TLS.
struct NodeAddress {
  std::string addr;
  bool tls = false;
};
// "https://host:port/" → {host:port, tls}; "http://" and a bare host:port → plain.
NodeAddress node_address(std::string_view node);

class ClientCore {
 public:
  explicit ClientCore(ClientOptions options);
  ~ClientCore();
  boost::asio::io_context& context() { return ioc_; }
  const ClientOptions& options() const { return options_; }
  // Why the TLS context could not be built from the options' files; "" when it was (or none
  // was needed).
  const std::string& tls_error() const { return tls_error_; }

  // One request to the current node. nullopt on a transport failure or timeout, after which the
  // next request goes to the next node.
  boost::asio::awaitable<std::optional<HttpResult>> request(std::string_view method,
                                                            std::string target, std::string body,
                                                            RequestControl* control = nullptr);
  // How long to wait after `failures` failures in a row: doubling from options().backoff, with
  // jitter (half to full), capped at max_backoff.
  std::chrono::milliseconds backoff(int failures);
  // Moves to the next node (also done on every transport failure).
  void next_node();
  std::string node() const;
  // The client's one long-poll loop, made on first use; core thread only.
  PollLoop& poll_loop();

 private:
  const ClientOptions options_;
  const std::string auth_lines_;  // the Authorization header line of options_.token, or ""
  std::vector<NodeAddress> nodes_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // for TLS nodes; null without any
  std::string tls_error_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::atomic<size_t> node_;
  std::mt19937 rng_;
  std::shared_ptr<PollLoop> poll_loop_;
  std::thread thread_;
};

// Runs `body` (a coroutine returning T) on the core's thread and waits for its result, at most
// `limit`; nullopt when it took longer. Never call it on the core's thread.
template <typename T, typename Body>
std::optional<T> run_and_wait(ClientCore& core, std::chrono::milliseconds limit, Body body) {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  boost::asio::co_spawn(
      core.context(),
      [promise, body = std::move(body)]() mutable -> boost::asio::awaitable<void> {
        promise->set_value(co_await body());
      },
      boost::asio::detached);
  if (future.wait_for(limit) != std::future_status::ready) return std::nullopt;
  return future.get();
}

// An answer's envelope code, or nullopt when `body` is not a registry's answer.
std::optional<int> envelope_code(const std::string& body);

}  // namespace muster::detail
