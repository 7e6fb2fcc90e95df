#pragma once
// The HTTP/1.1 server: Boost.Beast on Boost.Asio with C++20 coroutines.
//
// Threading model: `threads` workers, each running its own io_context on one thread. One acceptor
// (on worker 0) hands each new connection to the next worker in turn; a connection then lives on
// that worker only, so its session needs no locks. Parked requests (Deferred) wait on a timer, not
// a thread. start() and shutdown() are called from the owning (main) thread; stats() from any.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http/message.h"
#include "http/router.h"

namespace muster::tls {
struct ServerContext;
template <typename T>
class Reloadable;
}  // namespace muster::tls

namespace muster::http {

using namespace std::chrono_literals;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7171;  // 0 = any free port (see Server::port())
  unsigned threads = 0;  // 0 = one per core
  size_t header_limit = 16 * 1024;
  size_t body_limit = 1024 * 1024;
  // Open connections at once (muster serve lowers it to what the descriptor limit allows).
  size_t max_connections = 50'000;
  // Open connections from one source address; more are answered 429 and closed. 0: no limit.
  size_t max_connections_per_source = 512;
  // Loopback sources (127.0.0.0/8, ::1) are not limited per source: behind a proxy on the same
  // host every client is 127.0.0.1, and a local process can exhaust the host by other means.
  bool limit_loopback_sources = false;
  std::chrono::nanoseconds idle_timeout = 90s;     // keep-alive wait for the next request
  std::chrono::nanoseconds request_timeout = 10s;  // first byte to last byte of one request
  std::chrono::nanoseconds write_timeout = 30s;    // one answer to a slow reader
  // What all connections together may hold in answers their clients have not taken yet (each
  // connection holds at most one: the next pipelined request is read once it is sent). Once they
  // hold this much, a large answer is refused with 503 and Retry-After, so that clients that
  // never read cannot pin the node's memory (issue 15.3): at most the budget plus one answer per
  // worker. Shared bodies (cached renderings) are not counted.
  size_t max_unsent_bytes = 256 * 1024 * 1024;
  bool access_log = false;
  // Serve HTTPS with the context this holds (common/tls.h); null: plain HTTP. The holder may be
  // reloaded from any thread while the server runs.
  std::shared_ptr<tls::Reloadable<tls::ServerContext>> tls;
  // Answers a body over body_limit on `path` (the HTTP layer cannot know the application's error
  // format). Unset: 413 text.
  std::function<Response(std::string_view path, std::string message)> reject_body;
  // Called once per answered request, on the worker thread, for metrics.
  std::function<void(std::string_view route, const Response&, int64_t ns)> observe;
};

struct ServerStats {
  int64_t connections = 0;
  int64_t parked = 0;
  uint64_t rejected_connections = 0;
  uint64_t rejected_per_source = 0;  // over max_connections_per_source
  uint64_t bad_requests = 0;         // unparsable, header or body over the limit
  uint64_t timeouts = 0;             // request or write timeouts
  int64_t unsent_bytes = 0;          // own bodies of answers being written
  uint64_t busy = 0;                 // answers refused for max_unsent_bytes
  uint64_t tls_failures = 0;         // TLS handshakes that failed or timed out
};

class Server {
 public:
  Server(ServerOptions options, const Router& router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the address (so that port() is known) without serving yet. Throws std::system_error if
  // the address cannot be bound.
  void listen();
  // Starts accepting and the workers. The router must be complete by now: workers read it
  // without a lock. Calls listen() first if it has not been called.
  void start();
  // Stops accepting, answers every parked request with its timeout answer, waits (bounded by
  // `grace`) for those answers to be written, then stops the workers. Idempotent.
  void shutdown(std::chrono::milliseconds grace = 2000ms);
  uint16_t port() const { return bound_port_; }
  // The numeric address bound (a host name in `host` is resolved by listen()).
  const std::string& bound_host() const { return bound_host_; }
  ServerStats stats() const;

  struct Worker;
  struct Shared;

 private:
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::shared_ptr<void> acceptor_;  // a tcp::acceptor, kept opaque to spare includers Asio
  uint16_t bound_port_ = 0;
  std::string bound_host_;
  bool stopped_ = false;
};

}  // namespace muster::http
