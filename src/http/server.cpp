#include "http/server.h"

#include <spdlog/spdlog.h>

#include <csignal>
#include <system_error>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "http/server_internal.h"

namespace muster::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// Answers a connection over a limit (503 for the node's, 429 for one source's) with `message`,
// then drains what the client sent for a moment before closing, so that the answer is not lost to
// a reset. Over TLS the connection is closed without a word: the answer would need a handshake,
// the costliest thing a client can ask of the server, and this client is already over a limit.
asio::awaitable<void> refuse(const Server::Shared& shared, tcp::socket socket, int status,
                             std::string message) {
  if (shared.options.tls) {
    boost::system::error_code ignored;
    socket.close(ignored);
    co_return;
  }
  const Response answer = Response::text(status, std::move(message));
  std::string head;
  response_head(head, answer, /*keep_alive=*/false, 11);
  const std::array<asio::const_buffer, 2> text{asio::buffer(head), asio::buffer(answer.body)};
  auto [ec, n] = co_await asio::async_write(socket, text, kNoThrow);
  boost::system::error_code ignored;
  if (!ec) {
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    asio::steady_timer deadline(socket.get_executor());
    deadline.expires_after(std::chrono::seconds(1));
    char sink[4096];
    using namespace asio::experimental::awaitable_operators;
    for (int i = 0; i < 64; ++i) {
      auto r = co_await (deadline.async_wait(kNoThrow) ||
                         socket.async_read_some(asio::buffer(sink), kNoThrow));
      if (r.index() == 0 || std::get<0>(std::get<1>(r))) break;
    }
  }
  socket.close(ignored);
}

asio::awaitable<void> accept_loop(Server::Shared& shared, tcp::acceptor& acceptor,
                                  std::vector<std::unique_ptr<Server::Worker>>& workers) {
  size_t next = 0;
  asio::steady_timer backoff(acceptor.get_executor());
  std::chrono::steady_clock::time_point last_warning{};
  for (;;) {
    Server::Worker& worker = *workers[next++ % workers.size()];
    auto [ec, socket] = co_await acceptor.async_accept(worker.ioc, kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // Out of file descriptors or similar: wait a little instead of spinning, and say so once
      // a second at most.
      const auto now = std::chrono::steady_clock::now();
      if (now - last_warning >= std::chrono::seconds(1)) {
        spdlog::warn("accept failed: {} (connections: {})", ec.message(),
                     shared.connections.load());
        last_warning = now;
      }
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(kNoThrow);
      continue;
    }
    tcp::socket conn(std::move(socket));
    if (shared.connections.load() >= static_cast<int64_t>(shared.options.max_connections)) {
      ++shared.rejected;
      asio::co_spawn(worker.ioc,
                     refuse(shared, std::move(conn), 503,
                            "too many connections (limit " +
                                std::to_string(shared.options.max_connections) + ")\n"),
                     asio::detached);
      continue;
    }
    boost::system::error_code remote_ec;
    const auto remote = conn.remote_endpoint(remote_ec).address();
    std::string source = remote.to_string();
    const bool counted = counted_per_source(shared.options, remote);
    if (counted) {
      const size_t per_source = shared.options.max_connections_per_source;
      std::unique_lock lock(shared.sources_mu);
      size_t& open = shared.per_source[source];
      if (open >= per_source) {
        lock.unlock();
        ++shared.rejected_per_source;
        asio::co_spawn(worker.ioc,
                       refuse(shared, std::move(conn), 429,
                              "too many connections from " + source + " (limit " +
                                  std::to_string(per_source) + " per source address)\n"),
                       asio::detached);
        continue;
      }
      ++open;
    }
    ++shared.connections;
    asio::co_spawn(worker.ioc,
                   run_session(shared, worker, std::move(conn), std::move(source), counted),
                   asio::detached);
  }
}

}  // namespace

bool counted_per_source(const ServerOptions& options, const asio::ip::address& remote) {
  if (options.max_connections_per_source == 0) return false;
  if (options.limit_loopback_sources) return true;
  // An IPv4 client of a dual-stack socket shows as ::ffff:127.0.0.1.
  if (remote.is_v6() && remote.to_v6().is_v4_mapped())
    return !asio::ip::make_address_v4(asio::ip::v4_mapped, remote.to_v6()).is_loopback();
  return !remote.is_loopback();
}

void release_connection(Server::Shared& shared, const std::string& source, bool per_source) {
  --shared.connections;
  if (!per_source) return;
  std::lock_guard lock(shared.sources_mu);
  const auto it = shared.per_source.find(source);
  if (it != shared.per_source.end() && --it->second == 0) shared.per_source.erase(it);
}

Server::Server(ServerOptions options, const Router& router)
    : shared_(std::make_unique<Shared>(std::move(options), router)) {
  unsigned n = shared_->options.threads;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i)
    workers_.push_back(std::make_unique<Worker>());
}

Server::~Server() {
  shutdown(0ms);
}

void Server::listen() {
  if (acceptor_) return;
  Worker& first = *workers_.front();
  auto acceptor = std::make_shared<tcp::acceptor>(first.ioc);
  const std::string where = shared_->options.host + ":" + std::to_string(shared_->options.port);
  boost::system::error_code ec;
  // A host name (localhost) is resolved; its first IPv4 address is bound (else its first).
  auto address = asio::ip::make_address(shared_->options.host, ec);
  if (ec) {
    tcp::resolver resolver(first.ioc);
    const auto results = resolver.resolve(shared_->options.host, "", ec);
    if (ec || results.empty()) {
      throw std::system_error(ec, "cannot listen on " + where + ": cannot resolve host \"" +
                                      shared_->options.host + "\"");
    }
    address = results.begin()->endpoint().address();
    for (const auto& r : results) {
      if (r.endpoint().address().is_v4()) {
        address = r.endpoint().address();
        break;
      }
    }
  }
  const tcp::endpoint endpoint(address, shared_->options.port);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::system_error(ec, "cannot listen on " + where);
  }
  bound_port_ = acceptor->local_endpoint().port();
  bound_host_ = acceptor->local_endpoint().address().to_string();
  acceptor_ = acceptor;
}

void Server::start() {
  listen();
  // OpenSSL writes a TLS connection's descriptor with write(2), which raises SIGPIPE when the
  // client has gone (Asio's own sends use MSG_NOSIGNAL): the process must not die of it.
  if (shared_->options.tls) std::signal(SIGPIPE, SIG_IGN);
  Worker& first = *workers_.front();
  asio::co_spawn(
      first.ioc,
      accept_loop(*shared_, *std::static_pointer_cast<tcp::acceptor>(acceptor_), workers_),
      asio::detached);
  for (auto& w : workers_) {
    asio::co_spawn(w->ioc, sweep_deadlines(*w), asio::detached);
    threads_.emplace_back([worker = w.get()] {
      auto guard = asio::make_work_guard(worker->ioc);
      worker->ioc.run();
    });
  }
}

void Server::shutdown(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  shared_->stopping = true;
  if (acceptor_) {
    asio::post(workers_.front()->ioc,
               [acceptor = std::static_pointer_cast<tcp::acceptor>(acceptor_)] {
                 boost::system::error_code ignored;
                 acceptor->close(ignored);
               });
  }
  for (auto& w : workers_)
    asio::post(w->ioc, [worker = w.get()] { stop_parked(*worker); });
  // Parked requests now write their final answers; give them a bounded moment to do so.
  const auto until = std::chrono::steady_clock::now() + grace;
  while (shared_->parked.load() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(grace, 50ms));
  for (auto& w : workers_)
    w->ioc.stop();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
}

ServerStats Server::stats() const {
  ServerStats s;
  s.connections = shared_->connections.load();
  s.parked = shared_->parked.load();
  s.rejected_connections = shared_->rejected.load();
  s.rejected_per_source = shared_->rejected_per_source.load();
  s.bad_requests = shared_->bad_requests.load();
  s.timeouts = shared_->timeouts.load();
  s.unsent_bytes = shared_->unsent_bytes.load();
  s.busy = shared_->busy.load();
  s.tls_failures = shared_->tls_failures.load();
  return s;
}

}  // namespace muster::http
