#pragma once
// The shared machinery behind a Client: its io_context and thread, the node it talks to, and one
// HTTP request with a timeout. Internal to libmuster.
// Threading: request() and the node rotation run on the core's thread; options() anywhere.
#include <atomic>
#include <boost/asio.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "muster/client.h"

namespace muster::detail {

struct HttpResult {
  int status = 0;
  std::string body;
};

class ClientCore {
 public:
  explicit ClientCore(ClientOptions options);
  ~ClientCore();
  boost::asio::io_context& context() { return ioc_; }
  const ClientOptions& options() const { return options_; }

  // One request to the current node. nullopt on a transport failure or timeout, after which the
  // next request goes to the next node.
  boost::asio::awaitable<std::optional<HttpResult>> request(std::string_view method,
                                                            std::string target, std::string body);
  // How long to wait after `failures` failures in a row: doubling from options().backoff, with
  // jitter (half to full), capped at max_backoff.
  std::chrono::milliseconds backoff(int failures);
  // Moves to the next node (also done on every transport failure).
  void next_node();
  std::string node() const;

 private:
  const ClientOptions options_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::atomic<size_t> node_;
  std::mt19937 rng_;
  std::thread thread_;
};

// Parses an answer's envelope: its code (or nullopt when it is not one).
std::optional<int> envelope_code(const std::string& body);
// `key=value` with the value percent-encoded, '&' first unless `out` is empty.
void append_form(std::string& out, std::string_view key, std::string_view value);

}  // namespace muster::detail
