#pragma once
// Exact-path (and prefix) routing with the answers of Go's net/http mux, which Bilibili's clients
// see: an unknown path is 404 "404 page not found", a known path with another method is 405 "Method
// Not Allowed". Threading: built before the server starts, then only read.
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/message.h"

namespace muster::http {

using Handler = std::function<Outcome(const Request&)>;

class Router {
 public:
  void add(std::string_view method, std::string_view path, Handler handler);
  // Serves every path that starts with `prefix` and has no exact route; the longest prefix wins.
  void add_prefix(std::string_view method, std::string_view prefix, Handler handler);
  // The route label for metrics: the path if it is known, else "other".
  std::string_view route_label(std::string_view path) const;
  Outcome dispatch(const Request& request) const;
  std::vector<std::string> paths() const;

 private:
  struct Route {
    std::vector<std::pair<std::string, Handler>> by_method;
  };
  struct PathHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct Found {
    std::string_view label;  // the path or prefix registered
    const Route* route = nullptr;
  };
  Found find(std::string_view path) const;
  std::unordered_map<std::string, Route, PathHash, std::equal_to<>> routes_;
  std::vector<std::pair<std::string, Route>> prefixes_;  // longest first
};

}  // namespace muster::http
