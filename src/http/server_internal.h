#pragma once
// Shared between server.cpp (acceptor, workers, shutdown) and session.cpp (one connection).
#include <atomic>
#include <boost/asio.hpp>
#include <unordered_set>

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
  std::atomic<bool> stopping{false};
};

struct Server::Worker {
  boost::asio::io_context ioc{1};
  std::unordered_set<ParkState*> parked;  // touched only on this worker's thread
};

// Serves one connection until it closes, then decrements shared.connections.
boost::asio::awaitable<void> run_session(Server::Shared& shared, Server::Worker& worker,
                                         boost::asio::ip::tcp::socket socket);
// Ends every request parked on `worker` with its timeout answer. Runs on the worker's thread.
void stop_parked(Server::Worker& worker);

}  // namespace muster::http
