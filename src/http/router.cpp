#include "http/router.h"

#include <algorithm>

namespace muster::http {

void Router::add(std::string_view method, std::string_view path, Handler handler) {
  routes_[std::string(path)].by_method.emplace_back(std::string(method), std::move(handler));
}

void Router::add_prefix(std::string_view method, std::string_view prefix, Handler handler) {
  auto it = std::find_if(prefixes_.begin(), prefixes_.end(),
                         [&](const auto& p) { return p.first == prefix; });
  if (it == prefixes_.end()) {
    prefixes_.emplace_back(std::string(prefix), Route{});
    std::stable_sort(prefixes_.begin(), prefixes_.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    it = std::find_if(prefixes_.begin(), prefixes_.end(),
                      [&](const auto& p) { return p.first == prefix; });
  }
  it->second.by_method.emplace_back(std::string(method), std::move(handler));
}

Router::Found Router::find(std::string_view path) const {
  if (const auto it = routes_.find(path); it != routes_.end()) return {it->first, &it->second};
  for (const auto& [prefix, route] : prefixes_) {
    if (path.substr(0, prefix.size()) == prefix) return {prefix, &route};
  }
  return {};
}

std::string_view Router::route_label(std::string_view path) const {
  const Found found = find(path);
  return found.route == nullptr ? std::string_view("other") : found.label;
}

Outcome Router::dispatch(const Request& request) const {
  const Found found = find(request.path);
  if (found.route == nullptr) return Response::text(404, "404 page not found");
  for (const auto& [method, handler] : found.route->by_method) {
    if (method == request.method) return handler(request);
  }
  return Response::text(405, "Method Not Allowed");
}

std::vector<std::string> Router::paths() const {
  std::vector<std::string> out;
  for (const auto& [path, route] : routes_)
    out.push_back(path);
  for (const auto& [prefix, route] : prefixes_)
    out.push_back(prefix);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace muster::http
