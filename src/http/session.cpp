// One connection: read a request, dispatch it, park it if the handler defers, write the answer,
// repeat while keep-alive holds. Runs entirely on its worker's thread.
#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/server_internal.h"

namespace muster::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using namespace asio::experimental::awaitable_operators;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
using BeastRequest = bhttp::request<bhttp::string_body>;

std::string_view find_header(const void* native, std::string_view name) {
  const auto& req = *static_cast<const BeastRequest*>(native);
  const auto it = req.find(name);
  return it == req.end() ? std::string_view() : std::string_view(it->value());
}

}  // namespace

// The wake-up handle of one parked request. fire() may come from any thread; it posts the timer's
// cancellation to the session's own thread, where everything else happens.
class ParkState final : public Wakeup, public std::enable_shared_from_this<ParkState> {
 public:
  explicit ParkState(const asio::any_io_executor& ex) : timer(ex) {}
  void fire() override {
    if (woken.exchange(true)) return;
    asio::post(timer.get_executor(), [self = shared_from_this()] { self->timer.cancel(); });
  }
  void stop() {
    shutdown = true;
    timer.cancel();
  }
  asio::steady_timer timer;
  std::atomic<bool> woken{false};
  bool shutdown = false;
};

void stop_parked(Server::Worker& worker) {
  for (ParkState* p : worker.parked)
    p->stop();
}

namespace {

// Waits for a Deferred's answer. nullopt: the client left and nothing is to be sent.
asio::awaitable<std::optional<Response>> park(Server::Shared& shared, Server::Worker& worker,
                                              beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                              Deferred& deferred) {
  auto state = std::make_shared<ParkState>(stream.get_executor());
  if (auto now = deferred.attach(state)) co_return now;
  worker.parked.insert(state.get());
  ++shared.parked;
  struct Unpark {
    Server::Shared& shared;
    Server::Worker& worker;
    ParkState* state;
    ~Unpark() {
      worker.parked.erase(state);
      --shared.parked;
    }
  } unpark{shared, worker, state.get()};

  stream.expires_never();
  bool watch_socket = true;  // a read that ends means the client left
  for (;;) {
    if (state->shutdown || shared.stopping) co_return deferred.on_timeout();
    state->timer.expires_at(deferred.deadline());
    boost::system::error_code ec;
    if (watch_socket) {
      auto result = co_await (state->timer.async_wait(kNoThrow) ||
                              stream.socket().async_read_some(buffer.prepare(4096), kNoThrow));
      if (result.index() == 1) {
        auto [read_ec, n] = std::get<1>(result);
        if (read_ec) {
          deferred.on_abandon();
          co_return std::nullopt;
        }
        // A pipelined request: keep its bytes for later and stop watching the socket.
        buffer.commit(n);
        watch_socket = false;
        continue;
      }
      ec = std::get<0>(std::get<0>(result));
    } else {
      std::tie(ec) = co_await state->timer.async_wait(kNoThrow);
    }
    if (state->shutdown) co_return deferred.on_timeout();
    if (state->woken.exchange(false)) {
      if (auto answer = deferred.on_wake()) co_return answer;
    }
    if (!ec) co_return deferred.on_timeout();  // the deadline passed
  }
}

asio::awaitable<bool> write(beast::tcp_stream& stream, Server::Shared& shared, Response& r,
                            unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
  res.set(bhttp::field::content_type, r.content_type);
  for (const Header& h : r.headers)
    res.set(h.name, h.value);
  res.keep_alive(keep_alive);
  res.body() = std::move(r.body);
  res.prepare_payload();
  stream.expires_after(shared.options.write_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream, res, kNoThrow);
  if (ec == beast::error::timeout) ++shared.timeouts;
  co_return !ec;
}

Response parse_error_answer(Server::Shared& shared, const boost::system::error_code& ec,
                            const bhttp::request_parser<bhttp::string_body>& parser) {
  const ServerOptions& o = shared.options;
  if (ec == bhttp::error::header_limit) {
    return Response::text(431, "request header fields exceed the limit of " +
                                   std::to_string(o.header_limit) + " bytes");
  }
  if (ec == bhttp::error::body_limit) {
    std::string message =
        "request body exceeds the limit of " + std::to_string(o.body_limit) + " bytes";
    // Beast reports a Content-Length over the limit before the header is complete, but the
    // request line, and so the target, is already parsed.
    if (o.reject_body) {
      const auto target = parser.get().target();
      return o.reject_body(target.substr(0, target.find('?')), std::move(message));
    }
    return Response::text(413, std::move(message));
  }
  return Response::text(400, "bad request: " + ec.message());
}

}  // namespace

asio::awaitable<void> run_session(Server::Shared& shared, Server::Worker& worker,
                                  tcp::socket socket) {
  struct Count {
    Server::Shared& shared;
    ~Count() { --shared.connections; }
  } count{shared};
  const ServerOptions& o = shared.options;
  socket.set_option(tcp::no_delay(true));
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  while (!shared.stopping) {
    if (buffer.size() == 0) {
      stream.expires_after(o.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kNoThrow);
      if (ec) break;  // closed by the client, or idle for too long
      buffer.commit(n);
    }
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(o.header_limit));
    parser.body_limit(o.body_limit);
    stream.expires_after(o.request_timeout);
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, kNoThrow);
    const auto started = std::chrono::steady_clock::now();
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::connection_reset) {
        break;
      }
      if (ec == beast::error::timeout) {
        ++shared.timeouts;
        break;
      }
      ++shared.bad_requests;
      Response answer = parse_error_answer(shared, ec, parser);
      if (o.observe) o.observe("other", answer, 0);
      co_await write(stream, shared, answer, 11, false);
      break;
    }
    const BeastRequest& req = parser.get();
    const std::string_view target = req.target();
    const size_t qmark = target.find('?');
    Request request;
    request.method = req.method_string();
    request.path = target.substr(0, qmark);
    request.query = qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
    request.content_type = find_header(&req, "Content-Type");
    request.body = req.body();
    request.native = &req;
    request.header_fn = &find_header;

    std::optional<Response> answer;
    try {
      Outcome outcome = shared.router.dispatch(request);
      if (outcome.response) {
        answer = std::move(outcome.response);
      } else {
        answer = co_await park(shared, worker, stream, buffer, *outcome.deferred);
        if (!answer) break;  // the client left while parked
      }
    } catch (const std::exception& e) {
      spdlog::error("handler for {} failed: {}", request.path, e.what());
      answer = Response::text(500, "internal error");
    }
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
    const std::string_view route = shared.router.route_label(request.path);
    if (o.observe) o.observe(route, *answer, ns);
    if (o.access_log) {
      spdlog::info("access {} {} {} code={} {}us", request.method, target, answer->status,
                   answer->app_code, ns / 1000);
    }
    const bool keep_alive = req.keep_alive() && !answer->close && !shared.stopping;
    if (!co_await write(stream, shared, *answer, req.version(), keep_alive)) break;
    if (!keep_alive) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
}

}  // namespace muster::http
