#pragma once
// A peer node the test scripts, on muster's own HTTP server on loopback: it records every write
// posted to it and answers each route with the envelope the test sets (code and data), so the
// cluster's side of replication can be driven in process.
// Threading: the server's one worker answers; the test reads and scripts from its own thread.
#include <boost/json/parse.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/router.h"
#include "http/server.h"

namespace muster::cluster::testing {

class FakePeer {
 public:
  struct Write {
    std::string route;  // "/discovery/renew"
    std::string body;   // the form as posted
    // The form's fields (first value of each key).
    std::string field(const std::string& key) const {
      const size_t at = ("&" + body).find("&" + key + "=");
      if (at == std::string::npos) return "";
      const size_t start = at + key.size() + 1;
      const size_t end = body.find('&', start);
      return body.substr(start, end == std::string::npos ? std::string::npos : end - start);
    }
  };

  // port 0: any free port.
  explicit FakePeer(uint16_t port = 0) {
    for (const char* route :
         {"/discovery/register", "/discovery/renew", "/discovery/cancel", "/discovery/set"}) {
      router_.add("POST", route, [this, route](const http::Request& r) -> http::Outcome {
        std::lock_guard lock(mu_);
        writes_.push_back({route, std::string(r.body)});
        return envelope(route);
      });
    }
    for (const char* route :
         {"/discovery/nodes", "/discovery/digests", "/discovery/fetch", "/discovery/fetch/all"}) {
      router_.add("GET", route, [this, route](const http::Request& r) -> http::Outcome {
        std::lock_guard lock(mu_);
        reads_.push_back(std::string(route) + "?" + std::string(r.query));
        return envelope(route);
      });
    }
    http::ServerOptions o;
    o.port = port;
    o.threads = 1;
    server_ = std::make_unique<http::Server>(o, router_);
    server_->start();
  }
  ~FakePeer() { server_->shutdown(std::chrono::milliseconds(100)); }
  FakePeer(const FakePeer&) = delete;
  FakePeer& operator=(const FakePeer&) = delete;

  // What `route` answers from now on: {"code":code,"message":"","data":data}. Default: code 0.
  void answer(const std::string& route, int code, std::string data_json = "") {
    std::lock_guard lock(mu_);
    answers_[route] = {code, std::move(data_json)};
  }
  std::vector<Write> writes() {
    std::lock_guard lock(mu_);
    return writes_;
  }
  std::vector<Write> writes_to(const std::string& route) {
    std::vector<Write> out;
    for (auto& w : writes())
      if (w.route == route) out.push_back(w);
    return out;
  }
  std::vector<std::string> reads() {
    std::lock_guard lock(mu_);
    return reads_;
  }
  std::string addr() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  uint16_t port() const { return server_->port(); }

 private:
  http::Response envelope(const std::string& route) {
    const auto it = answers_.find(route);
    const int code = it == answers_.end() ? 0 : it->second.first;
    const std::string data = it == answers_.end() ? "" : it->second.second;
    http::Response out;
    out.body = "{\"code\":" + std::to_string(code) + ",\"message\":\"\"" +
               (data.empty() ? "" : ",\"data\":" + data) + "}";
    return out;
  }

  std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> answers_;
  std::vector<Write> writes_;
  std::vector<std::string> reads_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace muster::cluster::testing
