#pragma once
// The HTTP layer's view of a request and its answer, free of Beast types so that the API
// adapters compile without it. Threading: plain values, owned by one session.
#include <boost/container/static_vector.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace muster::http {

struct Request {
  std::string_view method;  // "GET", "POST", ...
  std::string_view path;    // target before '?', still percent-encoded
  std::string_view query;   // after '?', still encoded
  std::string_view content_type;
  std::string_view body;
  std::string_view remote;  // the client's address ("127.0.0.1"), for per-source limits
  // The client presented a TLS certificate issued by the peer CA: it is a peer node.
  bool peer_certified = false;
  // Looks up a request header (case-insensitive name); empty if absent.
  std::string_view header(std::string_view name) const { return header_fn(native, name); }

  const void* native = nullptr;
  std::string_view (*header_fn)(const void*, std::string_view) = nullptr;
};

struct Header {
  std::string_view name;
  std::string value;
};

struct Response {
  int status = 200;
  std::string_view content_type = "application/json; charset=utf-8";  // "": no such header
  std::string body;
  // Bytes shared by many answers (a cached rendering), sent instead of `body` when set: a
  // thousand clients that ask for the same large answer and read slowly hold one copy.
  std::shared_ptr<const std::string> shared_body;
  boost::container::static_vector<Header, 4> headers;  // extra headers; no allocation
  // The application's own result code, for metrics and the access log (0 when it has none).
  int app_code = 0;
  bool has_app_code = false;  // the answer is an application envelope that carries app_code
  bool close = false;         // close the connection after this answer

  std::string_view payload() const { return shared_body ? *shared_body : body; }

  static Response text(int status, std::string body) {
    Response r;
    r.status = status;
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::move(body);
    return r;
  }
};

// A thread-safe way for other threads to wake a parked request.
class Wakeup {
 public:
  virtual ~Wakeup() = default;
  virtual void fire() = 0;
};

// A request answered later: a long poll. The session parks it until its deadline, a wake-up, the
// client leaving or shutdown. Threading: attach()'s Wakeup may be fired from any thread; every
// other call runs on the session's thread, one at a time.
class Deferred {
 public:
  virtual ~Deferred() = default;
  virtual std::chrono::steady_clock::time_point deadline() const = 0;
  // Called once, before the session first waits; the Deferred fires it when it may have an answer.
  // Returns an answer if one is already due (a wake-up that came before attach), else nullopt.
  virtual std::optional<Response> attach(std::shared_ptr<Wakeup> wakeup) = 0;
  // After a wake-up: the answer, or nullopt to keep waiting.
  virtual std::optional<Response> on_wake() = 0;
  // The deadline passed or the server is stopping: the final answer.
  virtual Response on_timeout() = 0;
  // The client went away: release everything, no answer is sent.
  virtual void on_abandon() = 0;
};

// What a handler returns: an answer now, or a Deferred to park.
struct Outcome {
  Outcome(Response r) : response(std::move(r)) {}  // NOLINT: implicit for brevity in handlers
  Outcome(std::unique_ptr<Deferred> d) : deferred(std::move(d)) {}  // NOLINT
  std::optional<Response> response;
  std::unique_ptr<Deferred> deferred;
};

}  // namespace muster::http
