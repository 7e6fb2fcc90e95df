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
  w.family("muster_requests_total", "counter",
           "Requests answered, by route and code (the envelope's code, else the HTTP status).");
  for (const auto& r : routes_) {
    for (size_t i = 0; i < r->by_code.size(); ++i) {
      const uint64_t v = r->by_code[i].value();
      if (v == 0) continue;
      const std::string code = i < kCodes.size() ? std::to_string(kCodes[i]) : "other";
      w.sample("muster_requests_total", {{"route", r->name}, {"code", code}},
               static_cast<double>(v));
    }
  }
  w.family("muster_request_duration_seconds", "histogram",
           "Time from a request's last byte to its answer (long polls include their wait).");
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
    auto gauge = [&](std::string_view name, std::string_view help, double v) {
      w.family(name, "gauge", help);
      w.sample(name, v);
    };
    auto counter = [&](std::string_view name, std::string_view help, double v) {
      w.family(name, "counter", help);
      w.sample(name, v);
    };
    gauge("muster_instances", "Instances registered on this node.",
          static_cast<double>(st.instances));
    gauge("muster_apps", "Apps (appid and env) registered on this node.",
          static_cast<double>(st.apps));
    gauge("muster_parked_polls", "Long polls waiting for a change.",
          static_cast<double>(st.parked_polls));
    gauge("muster_connections", "Open client connections.", static_cast<double>(srv.connections));
    gauge("muster_protect_mode", "1 while the self-protection guard stops ordinary eviction.",
          st.protecting ? 1 : 0);
    gauge("muster_self_protection_enabled", "1 if the self-protection guard is on.",
          st.self_protection ? 1 : 0);
    gauge("muster_init_protect", "1 while reads are refused until the first syncup.",
          s.init_protected && s.init_protected() ? 1 : 0);
    gauge("muster_renews_last_interval", "Renews counted in the last eviction interval.",
          static_cast<double>(st.renews_last_interval));
    gauge("muster_expected_renews", "Renews expected per eviction interval.",
          static_cast<double>(st.expected_renews));
    gauge("muster_renew_threshold", "Below this many renews per interval the guard protects.",
          static_cast<double>(st.renew_threshold));
    counter("muster_evictions_total", "Instances evicted for want of renews.",
            static_cast<double>(st.evicted_total));
    gauge("muster_tombstones", "Apps that emptied, remembered (for an hour) for their version.",
          static_cast<double>(st.tombstones));
    gauge("muster_tombstone_bytes", "Memory the tombstones take, approximately.",
          static_cast<double>(st.tombstone_bytes));
    counter("muster_tombstones_dropped_total",
            "Tombstones forgotten before their hour because of the count or byte bound.",
            static_cast<double>(st.tombstones_dropped));
    counter("muster_http_bad_requests_total",
            "Requests that could not be parsed or were over a size limit.",
            static_cast<double>(srv.bad_requests));
    counter("muster_http_timeouts_total", "Connections closed by a request or write timeout.",
            static_cast<double>(srv.timeouts));
    gauge("muster_http_unsent_bytes",
          "Bytes of answers written but not yet taken by their clients (shared ones excluded).",
          static_cast<double>(srv.unsent_bytes));
    counter("muster_http_busy_total",
            "Large answers refused with 503 because unsent answers held --max-unsent-bytes.",
            static_cast<double>(srv.busy));
    counter("muster_http_rejected_connections_total",
            "Connections refused because max_connections were open.",
            static_cast<double>(srv.rejected_connections));
    counter("muster_http_rejected_source_connections_total",
            "Connections refused with 429 because their source address had "
            "--max-connections-per-source open.",
            static_cast<double>(srv.rejected_per_source));
    counter("muster_http_tls_handshake_failures_total",
            "TLS handshakes that failed (no or a wrong client certificate, an untrusted or "
            "expired one, plain HTTP to the TLS port) or timed out.",
            static_cast<double>(srv.tls_failures));
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
