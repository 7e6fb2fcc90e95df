#include "sd/http_api.h"

#include <boost/json.hpp>

namespace muster::sd {

namespace json = boost::json;

void add_sd_routes(http::Router& router, Service& service) {
  router.add_prefix("GET", "/sd/", [&service](const http::Request& r) -> http::Outcome {
    const std::string job(r.path.substr(4));
    const auto published = service.published();
    if (auto it = published->documents.find(job); it != published->documents.end()) {
      http::Response ok;
      ok.shared_body = it->second;  // not a copy: a job of 1,000,000 targets is tens of MB
      return ok;
    }
    if (published->held.contains(job)) {
      // Not "[]": Prometheus's http_sd keeps the targets it has on an error, and drops them on [].
      auto wait = http::Response::text(
          503, "job \"" + job + "\" waits for the first update of its providers\n");
      wait.headers.push_back({"Retry-After", "1"});
      return wait;
    }
    if (published->removed.contains(job)) {
      http::Response gone;
      gone.body = "[]";
      return gone;
    }
    return http::Response::text(404, "no job \"" + job + "\" in the configuration\n");
  });
  router.add("GET", "/sd", [&service](const http::Request&) -> http::Outcome {
    const auto published = service.published();
    json::array jobs;
    for (const auto& [job, n] : published->targets) {
      json::object entry{{"job", job}, {"targets", n}, {"path", "/sd/" + job}};
      if (auto it = published->discovered.find(job); it != published->discovered.end())
        entry["source"] = it->second;
      jobs.push_back(std::move(entry));
    }
    for (const auto& job : published->held)
      if (!published->targets.contains(job))
        jobs.push_back(json::object{{"job", job}, {"held", true}, {"path", "/sd/" + job}});
    http::Response ok;
    ok.body = json::serialize(json::object{{"jobs", std::move(jobs)}});
    return ok;
  });
  router.add("GET", "/metrics", [&service](const http::Request&) -> http::Outcome {
    http::Response ok;
    ok.content_type = "text/plain; version=0.0.4; charset=utf-8";
    ok.body = service.metrics_text();
    return ok;
  });
  router.add("POST", "/-/reload", [&service](const http::Request&) -> http::Outcome {
    const std::string problem = service.reload();
    if (!problem.empty()) return http::Response::text(500, "reload refused: " + problem + "\n");
    return http::Response::text(200, "");
  });
  router.add("GET", "/-/healthy", [](const http::Request&) -> http::Outcome {
    return http::Response::text(200, "muster sd is healthy.\n");
  });
}

}  // namespace muster::sd
