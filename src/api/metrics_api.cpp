#include "api/metrics_api.h"

#include <algorithm>

namespace muster::api {

RequestMetrics::RequestMetrics(std::vector<std::string> routes) {
  routes.push_back("other");
  for (auto& r : routes) {
    routes_.push_back(std::make_unique<Route>());
    routes_.back()->name = std::move(r);
  }
}

size_t RequestMetrics::index_of(std::string_view route) const {
  for (size_t i = 0; i + 1 < routes_.size(); ++i) {
    if (routes_[i]->name == route) return i;
  }
  return routes_.size() - 1;
}

void RequestMetrics::observe(std::string_view route, const http::Response& response, int64_t ns) {
  Route& r = *routes_[index_of(route)];
  const int code = response.status == 200 ? response.app_code : response.status;
  const auto it = std::find(kCodes.begin(), kCodes.end(), code);
  r.by_code[static_cast<size_t>(it - kCodes.begin())].inc();
  r.latency.observe_ns(ns);
}

void RequestMetrics::write(metrics::TextWriter& w) const {
  w.family("muster_requests_total");
  for (const auto& r : routes_) {
    for (size_t i = 0; i < r->by_code.size(); ++i) {
      const uint64_t v = r->by_code[i].value();
      if (v == 0) continue;
      const std::string code = i < kCodes.size() ? std::to_string(kCodes[i]) : "other";
      w.sample("muster_requests_total", {{"route", r->name}, {"code", code}},
               static_cast<double>(v));
    }
  }
  w.family("muster_request_duration_seconds");
  for (const auto& r : routes_) {
    const auto snap = r->latency.snapshot();
    if (snap.count > 0) w.histogram("muster_request_duration_seconds", {{"route", r->name}}, snap);
  }
}

void add_metrics_route(http::Router& router, MetricsSources s) {
  router.add("GET", "/metrics", [s](const http::Request&) -> http::Outcome {
    metrics::TextWriter w;
    const auto st = s.registry->stats();
    const auto srv = s.server->stats();
    // A family of one sample (its type and help from common/metric_list).
    auto gauge = [&](std::string_view name, double v) {
      w.family(name);
      w.sample(name, v);
    };
    const auto& counter = gauge;
    gauge("muster_instances", static_cast<double>(st.instances));
    gauge("muster_apps", static_cast<double>(st.apps));
    gauge("muster_parked_polls", static_cast<double>(st.parked_polls));
    gauge("muster_connections", static_cast<double>(srv.connections));
    gauge("muster_protect_mode", st.protecting ? 1 : 0);
    gauge("muster_self_protection_enabled", st.self_protection ? 1 : 0);
    gauge("muster_init_protect", s.init_protected && s.init_protected() ? 1 : 0);
    gauge("muster_renews_last_interval", static_cast<double>(st.renews_last_interval));
    gauge("muster_expected_renews", static_cast<double>(st.expected_renews));
    gauge("muster_renew_threshold", static_cast<double>(st.renew_threshold));
    counter("muster_evictions_total", static_cast<double>(st.evicted_total));
    gauge("muster_tombstones", static_cast<double>(st.tombstones));
    gauge("muster_tombstone_bytes", static_cast<double>(st.tombstone_bytes));
    counter("muster_tombstones_dropped_total", static_cast<double>(st.tombstones_dropped));
    counter("muster_http_bad_requests_total", static_cast<double>(srv.bad_requests));
    counter("muster_http_timeouts_total", static_cast<double>(srv.timeouts));
    gauge("muster_http_unsent_bytes", static_cast<double>(srv.unsent_bytes));
    counter("muster_http_busy_total", static_cast<double>(srv.busy));
    counter("muster_http_rejected_connections_total",
            static_cast<double>(srv.rejected_connections));
    counter("muster_http_rejected_source_connections_total",
            static_cast<double>(srv.rejected_per_source));
    counter("muster_http_tls_handshake_failures_total", static_cast<double>(srv.tls_failures));
    s.requests->write(w);
    for (const auto& write : s.more)
      write(w);
    http::Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = w.take();
    return r;
  });
}

}  // namespace muster::api
