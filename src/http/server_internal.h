#pragma once
// Shared between server.cpp (acceptor, workers, shutdown) and session.cpp (one connection).
#include <atomic>
#include <boost/asio.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "http/server.h"

namespace muster::http {

class ParkState;

struct Server::Shared {
  Shared(ServerOptions o, const Router& r) : options(std::move(o)), router(r) {}
  const ServerOptions options;
  const Router& router;
  std::atomic<int64_t> connections{0};
  std::atomic<int64_t> parked{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> bad_requests{0};
  std::atomic<uint64_t> timeouts{0};
  std::atomic<int64_t> unsent_bytes{0};  // own bodies of answers being written
  std::atomic<uint64_t> busy{0};         // answers refused for the unsent-bytes budget
  std::atomic<bool> stopping{false};
  // Open connections by source address, kept only with max_connections_per_source.
  std::mutex sources_mu;
  std::unordered_map<std::string, size_t> per_source;
  std::atomic<uint64_t> rejected_per_source{0};
  std::atomic<uint64_t> tls_failures{0};  // handshakes that failed or timed out
};

// A connection's deadline for its current read or write. Setting one is a store; the worker's
// sweep closes sockets whose deadline has passed, so no timer is armed per operation.
struct Deadline {
  std::chrono::steady_clock::time_point at = std::chrono::steady_clock::time_point::max();
  boost::asio::ip::tcp::socket* socket = nullptr;
  bool expired = false;
  void after(std::chrono::nanoseconds d) {
    at = std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
  }
  void never() { at = std::chrono::steady_clock::time_point::max(); }
};

// Wake-ups for a worker's parked requests, gathered so that a burst of them (one change waking
// 10,000 polls) costs one cross-thread post per worker, not one each. Any thread may add.
struct WakeQueue {
  std::mutex mu;
  std::vector<std::shared_ptr<ParkState>> pending;
  bool scheduled = false;
};

struct Server::Worker {
  boost::asio::io_context ioc{1};
  WakeQueue wakes;
  // Touched only on this worker's thread.
  std::unordered_set<ParkState*> parked;
  std::unordered_set<Deadline*> deadlines;
};

// How often a worker looks for connections past their deadline: timeouts are enforced this late
// at most.
inline constexpr std::chrono::milliseconds kSweepInterval{250};

// Closes the sockets of `worker`'s connections whose deadline has passed, every kSweepInterval,
// until the worker stops.
boost::asio::awaitable<void> sweep_deadlines(Server::Worker& worker);

// Formats the status line and headers of an answer into `head` (cleared first), for one gather
// write of head and body.
void response_head(std::string& head, const Response& r, bool keep_alive, unsigned version);

// Counts a connection from `source` out (the node's count, and the per-source one when
// `per_source` counted it in). Kept out of line: inlined into run_session it changed GCC 12's
// inlining of Beast's parser there into a -Wmaybe-uninitialized false positive under the
// sanitizers.
void release_connection(Server::Shared& shared, const std::string& source, bool per_source);

// Whether a connection from `remote` counts against max_connections_per_source.
bool counted_per_source(const ServerOptions& options, const boost::asio::ip::address& remote);

// Serves one connection until it closes, then decrements shared.connections.
// `source`: the client's address (what Request::remote shows, and what the per-source count is
// keyed by); `per_source`: the connection was counted in it.
boost::asio::awaitable<void> run_session(Server::Shared& shared, Server::Worker& worker,
                                         boost::asio::ip::tcp::socket socket, std::string source,
                                         bool per_source);
// Ends every request parked on `worker` with its timeout answer. Runs on the worker's thread.
void stop_parked(Server::Worker& worker);

}  // namespace muster::http
