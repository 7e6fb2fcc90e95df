#pragma once
// The active checks a node runs (issue 17; docs/api.md, "Health checks"): an HTTP request or a
// TCP connect, with a deadline, judged as Consul judges it. HTTP: 2xx passing, 429 warning,
// anything else (and no answer) critical; the output is "HTTP <METHOD> <url>: <status line>
// Output: <the body's tail>". TCP: "TCP connect <addr>: Success", or critical with the error.
// Threading: coroutines on the io_context they are given; no shared state.
#include <boost/asio.hpp>
#include <chrono>
#include <string>

#include "checks/check.h"

namespace muster::checks {

struct ProbeResult {
  Status status = Status::kCritical;
  std::string output;
};

// Runs `check` (kHttp or kTcp) once, giving up after `timeout`; a check whose request is unsafe
// (request_problem) or not `allowed` here is not sent, and comes back critical, "not run: ...".
boost::asio::awaitable<ProbeResult> probe(boost::asio::io_context& ioc, Check check,
                                          std::chrono::nanoseconds timeout,
                                          AllowedRequests allowed = AllowedRequests::kAny);

}  // namespace muster::checks
