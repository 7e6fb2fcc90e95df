// One connection: read a request, dispatch it, park it if the handler defers, write the answer,
// repeat while keep-alive holds. Runs entirely on its worker's thread.
//
// Beast parses requests (parser.put() straight from the connection's buffer, reading only when the
// parser needs more). Answers are written with a head we format ourselves and one gather write:
// measured, Beast's generic serializer cost more than everything else in a renew's user time.
#include <spdlog/spdlog.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>

#include "common/json_writer.h"
#include "common/tls.h"
#include "http/params.h"
#include "http/server_internal.h"
#include "http/tls_socket.h"

namespace muster::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
using BeastRequest = bhttp::request<bhttp::string_body>;
// Reads grow the connection's buffer in small steps: most requests fit in one, and the memory
// of 10,000 parked connections is what this costs ten thousand times.
constexpr size_t kReadChunk = 2048;

std::string_view find_header(const void* native, std::string_view name) {
  const auto& req = *static_cast<const BeastRequest*>(native);
  const auto it = req.find(name);
  return it == req.end() ? std::string_view() : std::string_view(it->value());
}

}  // namespace

// The wake-up handle of one parked request. fire() may come from any thread; it queues the
// request on its worker, which interrupts the request's wait on its own thread.
//
// A parked request awaits exactly one operation: the socket turning readable (the client left,
// or pipelined a request). Its deadline is a timer with a plain handler, and a wake-up, the
// deadline or shutdown all end the wait by cancelling it. A `timer || socket` group, used before,
// spawned two coroutines with their cancellation slots for every parked poll; this spawns none.
class ParkState final : public Wakeup, public std::enable_shared_from_this<ParkState> {
 public:
  ParkState(tcp::socket& socket, Server::Worker& worker)
      : timer(socket.get_executor()), socket_(socket), worker_(worker) {}
  void fire() override {
    if (woken.exchange(true)) return;
    WakeQueue& q = worker_.wakes;
    std::lock_guard lock(q.mu);
    q.pending.push_back(shared_from_this());
    if (q.scheduled) return;
    q.scheduled = true;
    asio::post(worker_.ioc, [&worker = worker_] {
      std::vector<std::shared_ptr<ParkState>> batch;
      {
        std::lock_guard lock(worker.wakes.mu);
        batch.swap(worker.wakes.pending);
        worker.wakes.scheduled = false;
      }
      for (const auto& state : batch)
        state->interrupt();
    });
  }
  // Arms the deadline; its handler interrupts the wait when the deadline passes.
  void arm(std::chrono::steady_clock::time_point deadline) {
    timer.expires_at(deadline);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: the request was answered another way
      self->expired = true;
      self->interrupt();
    });
  }
  void stop() {
    shutdown = true;
    interrupt();
  }
  // Ends the current wait of the parked request: the socket wait or, once the socket holds a
  // pipelined request, the signal timer.
  void interrupt() {
    if (done) return;  // the session moved on: its socket may be waiting on something else
    if (signal)
      signal->cancel();
    else
      socket_.cancel();
  }
  asio::steady_timer timer;
  std::optional<asio::steady_timer> signal;  // only while a pipelined request sits in the socket
  std::atomic<bool> woken{false};
  bool expired = false;
  bool shutdown = false;
  bool done = false;  // park() returned; set and read on the worker's thread

 private:
  tcp::socket& socket_;
  Server::Worker& worker_;
};

void stop_parked(Server::Worker& worker) {
  for (ParkState* p : worker.parked)
    p->stop();
}

// The connection keeps `head`'s capacity from one answer to the next.
void response_head(std::string& head, const Response& r, bool keep_alive, unsigned version) {
  head.clear();
  head += "HTTP/1.1 ";
  json::append_int(head, r.status);
  head.push_back(' ');
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(r.status));
  head.append(reason.data(), reason.size());
  if (!r.content_type.empty()) {  // empty: none (Consul's writes answer an empty body without)
    head += "\r\nContent-Type: ";
    head += r.content_type;
  }
  for (const Header& h : r.headers) {
    head += "\r\n";
    head += h.name;
    head += ": ";
    head += h.value;
  }
  head += "\r\nContent-Length: ";
  json::append_int(head, static_cast<int64_t>(r.payload().size()));
  if (!keep_alive)
    head += "\r\nConnection: close";
  else if (version == 10)
    head += "\r\nConnection: keep-alive";
  head += "\r\n\r\n";
}

asio::awaitable<void> sweep_deadlines(Server::Worker& worker) {
  asio::steady_timer timer(worker.ioc);
  for (;;) {
    timer.expires_after(kSweepInterval);
    auto [ec] = co_await timer.async_wait(kNoThrow);
    if (ec) co_return;
    const auto now = std::chrono::steady_clock::now();
    for (Deadline* d : worker.deadlines) {
      if (d->at <= now && !d->expired) {
        d->expired = true;
        boost::system::error_code ignored;
        d->socket->close(ignored);
      }
    }
  }
}

namespace {

// Registers a connection's deadline with its worker for the connection's lifetime.
struct DeadlineGuard {
  DeadlineGuard(Server::Worker& w, tcp::socket& s) : worker(w) {
    deadline.socket = &s;
    worker.deadlines.insert(&deadline);
  }
  ~DeadlineGuard() { worker.deadlines.erase(&deadline); }
  Server::Worker& worker;
  Deadline deadline;
};

// Waits for a Deferred's answer. nullopt: the client left and nothing is to be sent.
asio::awaitable<std::optional<Response>> park(Server::Shared& shared, Server::Worker& worker,
                                              tcp::socket& socket, Deferred& deferred) {
  auto state = std::make_shared<ParkState>(socket, worker);
  if (auto now = deferred.attach(state)) co_return now;
  worker.parked.insert(state.get());
  ++shared.parked;
  struct Unpark {
    Server::Shared& shared;
    Server::Worker& worker;
    ParkState& state;
    ~Unpark() {
      state.done = true;
      state.timer.cancel();  // releases the handler's reference at once
      worker.parked.erase(&state);
      --shared.parked;
    }
  } unpark{shared, worker, *state};
  state->arm(deferred.deadline());

  for (;;) {
    if (state->shutdown || shared.stopping) co_return deferred.on_timeout();
    if (state->woken.exchange(false)) {
      if (auto answer = deferred.on_wake()) co_return answer;
    }
    if (state->expired) co_return deferred.on_timeout();
    if (state->signal) {
      // Waiting for readability needs no buffer, but a pipelined request keeps the socket
      // readable: then only the signal timer is waited on, until interrupted.
      co_await state->signal->async_wait(kNoThrow);
      continue;
    }
    auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, kNoThrow);
    if (ec) continue;  // interrupted: the checks above say why
    char probe;
    boost::system::error_code peek_ec;
    const size_t n = socket.receive(asio::buffer(&probe, 1), tcp::socket::message_peek, peek_ec);
    if (peek_ec == asio::error::would_block) continue;  // spurious readiness
    if (peek_ec || n == 0) {
      deferred.on_abandon();
      co_return std::nullopt;
    }
    // A pipelined request: it stays in the socket for later.
    state->signal.emplace(socket.get_executor(), std::chrono::steady_clock::time_point::max());
  }
}

template <typename Stream>
asio::awaitable<bool> write(Stream& stream, Deadline& deadline, Server::Shared& shared,
                            std::string& head, const Response& r, unsigned version,
                            bool keep_alive) {
  response_head(head, r, keep_alive, version);
  const std::string_view payload = r.payload();
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(payload)};
  boost::system::error_code ec;
  if constexpr (std::is_same_v<Stream, TlsSocket>) {
    // One record and one send for an answer that fits a record: head and body together.
    constexpr size_t kRecord = 16 * 1024;
    size_t count = 2;
    if (head.size() + payload.size() <= kRecord) {
      head.append(payload);
      buffers[0] = asio::buffer(head);
      count = 1;
    }
    deadline.after(shared.options.write_timeout);
    ec = co_await stream.write(std::span<const asio::const_buffer>(buffers.data(), count));
    if (ec && deadline.expired) ++shared.timeouts;
    co_return !ec;
  } else {
    // Most answers fit the socket's send buffer: one non-blocking send, without a trip through
    // the reactor and the scheduler. What it leaves goes out asynchronously.
    const size_t sent = stream.write_some(buffers, ec);
    if (!ec && sent == head.size() + payload.size()) co_return true;
    if (ec && ec != asio::error::would_block) co_return false;
    if (sent < head.size()) {
      buffers[0] += sent;
    } else {
      buffers[1] += sent - head.size();
      buffers[0] = asio::const_buffer();
    }
    deadline.after(shared.options.write_timeout);
    size_t n = 0;
    std::tie(ec, n) = co_await asio::async_write(stream, buffers, kNoThrow);
    if (ec && deadline.expired) ++shared.timeouts;
    co_return !ec;
  }
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

// What the parser accepts but we must not serve (issue 15.7): an HTTP/1.1 request without Host
// (RFC 9112 §3.2: 400), and a transfer coding other than chunked, whose body we would read as
// if it were plain (RFC 9112 §6.1: 501).
std::optional<Response> framing_problem(const BeastRequest& req) {
  if (req.version() >= 11 && req.find(bhttp::field::host) == req.end()) {
    Response r = Response::text(400, "bad request: an HTTP/1.1 request needs a Host header");
    r.close = true;
    return r;
  }
  const auto te = req.find(bhttp::field::transfer_encoding);
  if (te != req.end()) {
    std::string_view codings = te->value();
    while (!codings.empty()) {
      const size_t comma = codings.find(',');
      std::string_view coding = codings.substr(0, comma);
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t'))
        coding.remove_prefix(1);
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
        coding.remove_suffix(1);
      if (!beast::iequals(coding, "chunked")) {
        Response r = Response::text(
            501, "transfer coding \"" + std::string(coding) + "\" is not supported (only chunked)");
        r.close = true;
        return r;
      }
      if (comma == std::string_view::npos) break;
      codings.remove_prefix(comma + 1);
    }
  }
  return std::nullopt;
}

// Counts an answer's own bytes in the server's unsent total while it is being written.
struct UnsentBytes {
  UnsentBytes(Server::Shared& s, int64_t n) : shared(s), bytes(n) { shared.unsent_bytes += n; }
  ~UnsentBytes() { shared.unsent_bytes -= bytes; }
  UnsentBytes(const UnsentBytes&) = delete;
  UnsentBytes& operator=(const UnsentBytes&) = delete;
  Server::Shared& shared;
  const int64_t bytes;
};

enum class ReadResult { kRequest, kClosed, kBad };

// Reads what has arrived into `buffer`. False when the connection is gone: closed by the client,
// or by the deadline sweep (then counted as a timeout).
template <typename Stream>
asio::awaitable<bool> read_more(Stream& stream, beast::flat_buffer& buffer, Deadline& deadline,
                                Server::Shared& shared) {
  boost::system::error_code ec;
  size_t n = 0;
  if constexpr (std::is_same_v<Stream, TlsSocket>)
    std::tie(ec, n) = co_await stream.read_some(buffer.prepare(kReadChunk));
  else
    std::tie(ec, n) = co_await stream.async_read_some(buffer.prepare(kReadChunk), kNoThrow);
  if (ec) {
    if (deadline.expired) ++shared.timeouts;
    co_return false;
  }
  buffer.commit(n);
  co_return true;
}

// Reads one request into `parser`, parsing what is already buffered before reading more.
template <typename Stream>
asio::awaitable<ReadResult> read_request(Stream& stream, beast::flat_buffer& buffer,
                                         bhttp::request_parser<bhttp::string_body>& parser,
                                         Deadline& deadline, Server::Shared& shared,
                                         boost::system::error_code& parse_ec) {
  const ServerOptions& o = shared.options;
  if (buffer.size() == 0) {
    deadline.after(o.idle_timeout);
    // Closed by the client, or idle for too long.
    if (!co_await read_more(stream, buffer, deadline, shared)) co_return ReadResult::kClosed;
  }
  deadline.after(o.request_timeout);
  for (;;) {
    if (buffer.size() > 0) {
      const size_t used = parser.put(buffer.data(), parse_ec);
      buffer.consume(used);
      if (!parse_ec && parser.is_done()) co_return ReadResult::kRequest;
      if (parse_ec && parse_ec != bhttp::error::need_more) co_return ReadResult::kBad;
      parse_ec = {};
      if (used > 0 && buffer.size() > 0) continue;
    }
    // A half-sent request costs only its connection.
    if (!co_await read_more(stream, buffer, deadline, shared)) co_return ReadResult::kClosed;
  }
}

// Whether the client began with plain HTTP rather than a TLS handshake (whose first byte is
// 0x16, a handshake record); if so it is told, in plain HTTP, what went wrong, as nginx does.
asio::awaitable<bool> plain_http_on_tls_port(tcp::socket& socket) {
  auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, kNoThrow);
  if (ec) co_return false;  // closed, or the deadline: the handshake fails in its turn
  char first = 0;
  boost::system::error_code peek_ec;
  const size_t n = socket.receive(asio::buffer(&first, 1), tcp::socket::message_peek, peek_ec);
  if (peek_ec || n == 0 || first < 'A' || first > 'Z') co_return false;
  const Response answer = Response::text(400,
                                         "this port speaks HTTPS: the plain HTTP request was "
                                         "sent to a TLS port (use https://)\n");
  std::string head;
  response_head(head, answer, /*keep_alive=*/false, 11);
  const std::array<asio::const_buffer, 2> text{asio::buffer(head), asio::buffer(answer.body)};
  co_await asio::async_write(socket, text, kNoThrow);
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  co_return true;
}

// Serves requests on `stream` (the socket itself, or TLS over it) until the connection ends.
// `socket` is the TCP socket under it, which the parked wait and the deadline sweep act on.
template <typename Stream>
asio::awaitable<void> serve(Server::Shared& shared, Server::Worker& worker, Stream& stream,
                            tcp::socket& socket, Deadline& deadline, const std::string& source,
                            bool peer_certified) {
  const ServerOptions& o = shared.options;
  boost::system::error_code ignored;
  beast::flat_buffer buffer;
  std::string head;
  std::string client;
  if (o.access_log) {
    const auto remote = socket.remote_endpoint(ignored);
    client = remote.address().to_string() + ":" + std::to_string(remote.port());
  }
  while (!shared.stopping) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(o.header_limit));
    parser.body_limit(o.body_limit);
    parser.eager(true);
    boost::system::error_code parse_ec;
    const ReadResult read =
        co_await read_request(stream, buffer, parser, deadline, shared, parse_ec);
    if (read == ReadResult::kClosed) break;
    const auto started = std::chrono::steady_clock::now();
    // A request that cannot be parsed, or that is framed as we must not serve, is answered and
    // its connection closed.
    std::optional<Response> refused = read == ReadResult::kBad
                                          ? parse_error_answer(shared, parse_ec, parser)
                                          : framing_problem(parser.get());
    if (refused) {
      ++shared.bad_requests;
      if (o.observe) o.observe("other", *refused, 0);
      const unsigned version = read == ReadResult::kBad ? 11 : parser.get().version();
      co_await write(stream, deadline, shared, head, *refused, version, false);
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
    request.remote = source;
    request.peer_certified = peer_certified;

    std::optional<Response> answer;
    try {
      Outcome outcome = shared.router.dispatch(request);
      if (outcome.response) {
        answer = std::move(outcome.response);
      } else {
        deadline.never();
        answer = co_await park(shared, worker, socket, *outcome.deferred);
        if (!answer) break;  // the client left while parked
      }
    } catch (const std::exception& e) {
      spdlog::error("handler for {} failed: {}", request.path, e.what());
      answer = Response::text(500, "internal error");
    }
    // Answers of this size and smaller are never refused: the budget is for large ones. A large
    // one goes while the budget is not used up, so that any single answer can be had.
    constexpr size_t kSmallAnswer = 64 * 1024;
    if (answer->body.size() > kSmallAnswer &&
        shared.unsent_bytes.load() >= static_cast<int64_t>(o.max_unsent_bytes)) {
      ++shared.busy;
      answer = Response::text(503,
                              "busy: answers not yet taken by their clients hold too much "
                              "memory; retry shortly\n");
      answer->headers.push_back({"Retry-After", "1"});
    }
    const UnsentBytes unsent(shared, static_cast<int64_t>(answer->body.size()));
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
    if (o.observe) o.observe(shared.router.route_label(request.path), *answer, ns);
    if (o.access_log) {
      // The client's address; an application code only where the answer carries one (an
      // unknown route is a plain 404).
      spdlog::info("access {} {} {} {}{}{} {}us", client, request.method, redacted_target(target),
                   answer->status, answer->has_app_code ? " code=" : "",
                   answer->has_app_code ? std::to_string(answer->app_code) : std::string(),
                   ns / 1000);
    }
    const bool keep_alive = req.keep_alive() && !answer->close && !shared.stopping;
    if (!co_await write(stream, deadline, shared, head, *answer, req.version(), keep_alive)) break;
    if (!keep_alive) break;
  }
}

}  // namespace

asio::awaitable<void> run_session(Server::Shared& shared, Server::Worker& worker,
                                  tcp::socket socket, std::string source, bool per_source) {
  struct Count {
    Server::Shared& shared;
    const std::string& source;
    bool per_source;
    ~Count() { release_connection(shared, source, per_source); }
  } count{shared, source, per_source};
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  socket.non_blocking(true, ignored);  // the parked peek must never block the worker
  if (!shared.options.tls) {
    DeadlineGuard guard(worker, socket);
    co_await serve(shared, worker, socket, socket, guard.deadline, source, false);
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
    co_return;
  }
  // Each connection keeps the context it started with: a reload (SIGHUP) changes what the next
  // connections get.
  const auto tls = shared.options.tls->current();
  tcp::socket& raw = socket;
  TlsSocket stream(raw, tls->context->native_handle());
  DeadlineGuard guard(worker, raw);
  // The handshake is bounded like a request: a client that stalls in it costs its connection.
  guard.deadline.after(shared.options.request_timeout);
  if (co_await plain_http_on_tls_port(raw)) {
    ++shared.tls_failures;
    raw.close(ignored);
    co_return;
  }
  if (const auto ec = co_await stream.handshake()) {
    ++shared.tls_failures;
    spdlog::debug("TLS handshake from {} failed: {}", source, ec.message());
  } else {
    const bool peer = tls->is_peer(stream.native_handle());
    co_await serve(shared, worker, stream, raw, guard.deadline, source, peer);
  }
  // No close_notify: every answer is framed by its Content-Length, so a truncation is seen.
  raw.shutdown(tcp::socket::shutdown_send, ignored);
  raw.close(ignored);
}

}  // namespace muster::http
