#pragma once
// GET /metrics in the Prometheus text format, and the per-request counters it reports.
// Threading: observe() runs on every worker at once (atomics only); the handler reads.
#include <array>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"
#include "http/message.h"
#include "http/router.h"
#include "http/server.h"
#include "registry/registry.h"

namespace muster::api {

class RequestMetrics {
 public:
  // Routes are fixed before the server starts; anything else counts as "other".
  explicit RequestMetrics(std::vector<std::string> routes);
  void observe(std::string_view route, const http::Response& response, int64_t ns);
  void write(metrics::TextWriter& w) const;

 private:
  // Codes reported: the envelope's code, or the HTTP status where there is no envelope.
  static constexpr std::array<int, 13> kCodes = {0,   -304, -400, -404, -409, -500, 400,
                                                 404, 405,  413,  431,  500,  503};
  struct Route {
    std::string name;
    std::array<metrics::Counter, kCodes.size() + 1> by_code;  // last: any other code
    metrics::LatencyHistogram latency;
  };
  size_t index_of(std::string_view route) const;
  std::vector<std::unique_ptr<Route>> routes_;  // last: "other"
};

struct MetricsSources {
  const registry::Registry* registry = nullptr;
  const http::Server* server = nullptr;
  const RequestMetrics* requests = nullptr;
  std::function<bool()> init_protected;
  // Further families, written after the node's own (replication, anti-entropy).
  std::vector<std::function<void(metrics::TextWriter&)>> more;
};

void add_metrics_route(http::Router& router, MetricsSources sources);

}  // namespace muster::api
