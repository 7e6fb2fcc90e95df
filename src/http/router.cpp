#include "http/router.h"

#include <algorithm>

namespace muster::http {

void Router::add(std::string_view method, std::string_view path, Handler handler) {
  routes_[std::string(path)].by_method.emplace_back(std::string(method), std::move(handler));
}

std::string_view Router::route_label(std::string_view path) const {
  const auto it = routes_.find(path);
  return it == routes_.end() ? std::string_view("other") : std::string_view(it->first);
}

Outcome Router::dispatch(const Request& request) const {
  const auto it = routes_.find(request.path);
  if (it == routes_.end()) return Response::text(404, "404 page not found");
  for (const auto& [method, handler] : it->second.by_method) {
    if (method == request.method) return handler(request);
  }
  return Response::text(405, "Method Not Allowed");
}

std::vector<std::string> Router::paths() const {
  std::vector<std::string> out;
  for (const auto& [path, route] : routes_)
    out.push_back(path);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace muster::http
