#include "api/prometheus_sd_api.h"

#include <algorithm>

#include "checks/check.h"
#include "common/json_writer.h"
#include "common/utf8.h"
#include "http/params.h"
#include "wire/field_limits.h"
#include "wire/prometheus_target.h"

namespace muster::api {

namespace {

constexpr size_t kMaxAppids = 1000;

http::Response bad_request(std::string message) {
  return http::Response::text(400, std::move(message));
}

// [a-z][a-z0-9+.-]{0,31}: RFC 3986's scheme, short.
bool valid_scheme(std::string_view s) {
  if (s.empty() || s.size() > 32 || s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-';
  });
}

void append_group(std::string& out, const std::map<std::string, std::string>& labels) {
  if (out.size() > 1) out.push_back(',');
  out += "{\"targets\":[";
  json::append_string(out, labels.at("__address__"));
  out += "],\"labels\":{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (k == "__address__") continue;
    if (!first) out.push_back(',');
    first = false;
    json::append_string(out, k);
    out.push_back(':');
    json::append_string(out, v);
  }
  out += "}}";
}

}  // namespace

PrometheusSdApi::PrometheusSdApi(const ApiContext& context)
    : registry_(context.registry), identity_(context.identity), access_(context.access) {}

void PrometheusSdApi::add_routes(http::Router& router) {
  router.add("GET", "/prometheus/sd",
             [this](const http::Request& r) -> http::Outcome { return handle(r); });
}

std::optional<http::Response> PrometheusSdApi::reject_body(std::string_view path,
                                                           std::string message) const {
  if (!path.starts_with("/prometheus/")) return std::nullopt;
  return bad_request(std::move(message));
}

http::Outcome PrometheusSdApi::handle(const http::Request& request) const {
  // Prometheus sends its http_sd `authorization` as a bearer token; a refusal is a plain HTTP
  // status, which its SD logs.
  if (const Verdict v =
          access_.check(bearer_token(request), Need::kRead, {}, request.peer_certified);
      v != Verdict::kAllowed)
    return http::Response::text(v == Verdict::kForbidden ? 403 : 401,
                                std::string(verdict_message(v)));
  http::Params params;
  if (auto err = http::parse_urlencoded(request.query, params)) return bad_request(*err);
  for (const auto& [k, v] : params.pairs())
    if (!valid_utf8(k) || !valid_utf8(v)) return bad_request("parameters must be valid UTF-8");
  const std::string env(params.first("env").value_or(identity_.env));
  const std::string zone(params.first("zone").value_or(""));
  const std::string scheme(params.first("scheme").value_or("http"));
  const std::string status_text(params.first("status").value_or("3"));
  if (env.empty() || env.size() > wire::limits::kZone)
    return bad_request("env must be 1 to 64 bytes");
  if (zone.size() > wire::limits::kZone) return bad_request("zone must be at most 64 bytes");
  if (!valid_scheme(scheme)) return bad_request("scheme \"" + scheme + "\" is not a URL scheme");
  if (status_text != "1" && status_text != "2" && status_text != "3")
    return bad_request("status must be 1 (up), 2 (down) or 3 (both)");
  const int status = status_text[0] - '0';
  std::vector<std::string> appids;
  for (std::string_view a : params.all("appid")) {
    if (a.size() > wire::limits::kAppid) return bad_request("an appid is longer than 256 bytes");
    appids.emplace_back(a);
  }
  if (appids.size() > kMaxAppids)
    return bad_request("too many appids: " + std::to_string(appids.size()) + " (limit 1000)");
  if (appids.empty()) {
    for (auto& [appid, app_env] : registry_.app_names())
      if (app_env == env) appids.push_back(std::move(appid));
  }
  std::sort(appids.begin(), appids.end());
  appids.erase(std::unique(appids.begin(), appids.end()), appids.end());

  std::string out = "[";
  // App by app, each under its own short hold of the registry lock (as fetch/all).
  for (const auto& appid : appids) {
    registry_.read_app(env, appid, [&](const registry::App& app) {
      for (const auto& [zone_name, z] : app.zones) {
        if (!zone.empty() && zone_name != zone) continue;
        for (const auto& [host, inst] : z.instances) {
          if (status != 3 && inst.status != status) continue;
          std::string address;
          for (std::string_view a : inst.addrs)
            if (address.empty()) address = wire::scrape_address(a, scheme);
          if (address.empty()) continue;
          wire::TargetInstance t{app.appid, app.env,      zone_name,   inst.region,
                                 host,      inst.version, inst.status, {}};
          // A Consul registration's checks are not a label: they change with every output
          // (Prometheus would see a new target each time) and may hold credentials (issue 27).
          for (const auto [k, v] : inst.metadata.pairs())
            if (k != checks::kChecksKey) t.metadata.emplace_back(k, v);
          append_group(out, wire::muster_target_labels(t, address, scheme));
        }
      }
    });
  }
  out.push_back(']');
  http::Response r;
  r.body = std::move(out);
  return r;
}

}  // namespace muster::api
