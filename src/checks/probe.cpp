#include "checks/probe.h"

#include <algorithm>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "common/ascii_case.h"
#include "common/endpoint.h"
#include "common/socket_deadline.h"

namespace muster::checks {

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto no_throw = asio::as_tuple(asio::use_awaitable);

// The most of an answer's body read; past it the status still counts.
constexpr uint64_t kBodyLimit = 64 * 1024;

// Connects `socket` to host:port, resolving a name; the error text on failure.
asio::awaitable<std::string> connect(tcp::socket& socket, const std::string& host,
                                     const std::string& port) {
  tcp::resolver resolver(socket.get_executor());
  auto [rec, endpoints] = co_await resolver.async_resolve(host, port, no_throw);
  if (rec) co_return "lookup " + host + ": " + rec.message();
  auto [ec, ep] = co_await asio::async_connect(socket, endpoints, no_throw);
  if (ec || !socket.is_open())
    co_return "connect: " + (ec ? ec.message() : std::string("timed out"));
  co_return std::string();
}

asio::awaitable<ProbeResult> tcp_probe(asio::io_context& ioc, const Check& check,
                                       std::chrono::nanoseconds timeout) {
  const auto target = parse_host_port(check.tcp);
  if (!target) co_return ProbeResult{Status::kCritical, "dial tcp " + check.tcp + ": missing port"};
  tcp::socket socket(ioc);
  const SocketDeadline deadline(ioc, socket, timeout);
  const std::string error = co_await connect(socket, target->host, std::to_string(target->port));
  if (!error.empty())
    co_return ProbeResult{Status::kCritical, "dial tcp " + check.tcp + ": " + error};
  co_return ProbeResult{Status::kPassing, "TCP connect " + check.tcp + ": Success"};
}

asio::awaitable<ProbeResult> http_probe(asio::io_context& ioc, const Check& check,
                                        std::chrono::nanoseconds timeout) {
  const std::string method = check.method.empty() ? "GET" : check.method;
  const std::string prefix = "HTTP " + method + " " + check.http + ": ";
  const auto url = boost::urls::parse_uri(check.http);
  if (!url || url->host().empty()) co_return ProbeResult{Status::kCritical, prefix + "invalid URL"};
  const std::string host = url->host_address();
  const std::string port = url->has_port() ? std::string(url->port()) : "80";
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(url->encoded_target().empty() ? "/" : std::string(url->encoded_target()));
  req.version(11);
  bool agent = false, accept = false, has_host = false;
  for (const auto& [name, values] : check.header) {
    agent = agent || equal_without_case(name, "User-Agent");
    accept = accept || equal_without_case(name, "Accept");
    has_host = has_host || equal_without_case(name, "Host");
    for (const auto& v : values)
      req.insert(name, v);
  }
  if (!has_host) req.set(http::field::host, std::string(url->encoded_host_and_port()));
  if (!agent) req.set(http::field::user_agent, "Consul Health Check");
  if (!accept) req.set(http::field::accept, "text/plain, text/*, */*");
  req.set(http::field::connection, "close");
  req.body() = check.body;
  req.prepare_payload();

  tcp::socket socket(ioc);
  const SocketDeadline deadline(ioc, socket, timeout);
  const std::string error = co_await connect(socket, host, port);
  if (!error.empty()) co_return ProbeResult{Status::kCritical, prefix + "dial tcp: " + error};
  auto [wec, written] = co_await http::async_write(socket, req, no_throw);
  if (wec) co_return ProbeResult{Status::kCritical, prefix + wec.message()};
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);
  auto [rec, read] = co_await http::async_read(socket, buffer, parser, no_throw);
  if (rec && !(rec == http::error::body_limit && parser.is_header_done()))
    co_return ProbeResult{Status::kCritical, prefix + rec.message()};
  const auto& res = parser.get();
  const unsigned code = res.result_int();
  const Status status = code >= 200 && code < 300 ? Status::kPassing
                        : code == 429             ? Status::kWarning
                                                  : Status::kCritical;
  // The tail of the body, as Consul keeps it: what fits in the output after the status line.
  std::string_view body = res.body();
  const size_t room = kMaxOutput > prefix.size() + 64 ? kMaxOutput - prefix.size() - 64 : 0;
  if (body.size() > room) body = body.substr(body.size() - room);
  co_return ProbeResult{status, prefix + std::to_string(code) + " " + std::string(res.reason()) +
                                    " Output: " + std::string(body)};
}

}  // namespace

asio::awaitable<ProbeResult> probe(asio::io_context& ioc, Check check,
                                   std::chrono::nanoseconds timeout, AllowedRequests allowed) {
  // A check from a peer or an older data directory was not checked at this node's door.
  std::string problem = request_problem(check);
  if (problem.empty()) problem = allowed_problem(check, allowed);
  if (!problem.empty()) co_return ProbeResult{Status::kCritical, "not run: " + problem};
  if (check.type == Type::kTcp) co_return co_await tcp_probe(ioc, check, timeout);
  co_return co_await http_probe(ioc, check, timeout);
}

}  // namespace muster::checks
