#pragma once
// The Consul-compatible API (issue 17; docs/api.md, Consul): the agent's service register and
// deregister (consul_agent.h) and agent/services, and what Prometheus's
// consul_sd_configs, muster sd's consul provider and Consul client libraries read, over the same
// registry as the native API: GET /v1/agent/self, /v1/status/leader, /v1/status/peers,
// /v1/catalog/services, /v1/catalog/nodes, /v1/catalog/service/<name>, /v1/health/service/<name>
// and /v1/health/checks/<name>, the last five as blocking queries (index, wait) answered with
// X-Consul-Index; health checks: a registration's Check and Checks, /v1/agent/checks and
// /v1/agent/check/pass|warn|fail|update, run by checks::CheckRunner. Errors are Consul's: a status
// code with a plain text reason. Threading: handlers run on any worker; a blocking query parks in
// the session and is woken by ConsulWatch, a registry::ChangeObserver.
#include <functional>
#include <memory>

#include "api/api.h"
#include "api/consul_watch.h"
#include "checks/check_runner.h"

namespace muster::api {

struct ConsulQuery;  // a read's parameters (consul_api.cpp)

struct ConsulOptions {
  bool run_checks = true;  // false: this node runs no check (tests of the API alone)
  // DeregisterCriticalServiceAfter is raised to this (Consul: 1 minute).
  std::chrono::nanoseconds reap_floor = std::chrono::minutes(1);
  // Check probes out at once, each with a socket: kept below the descriptor limit (serve.cpp).
  size_t max_probes_in_flight = 512;
  // What the node's probes may send (--consul-check-requests): a check asking for more is
  // refused at registration.
  checks::AllowedRequests check_requests = checks::AllowedRequests::kAny;
};

class ConsulApi final : public Api {
 public:
  ConsulApi(const ApiContext& context, const ConsulOptions& options);
  void add_routes(http::Router& router) override;
  std::optional<http::Response> reject_body(std::string_view path,
                                            std::string message) const override;
  void write_metrics(metrics::TextWriter& out) const override;
  ~ConsulApi() override;
  void on_stop() override { runner_.stop(); }

 private:
  http::Outcome agent_self(const http::Request& request) const;
  http::Outcome status_leader(const http::Request& request) const;
  http::Outcome status_peers(const http::Request& request) const;
  http::Outcome catalog_services(const http::Request& request) const;
  // /v1/health/service, /v1/catalog/service and /v1/health/checks: per instance of one app.
  enum class Entries { kHealth, kCatalog, kChecks };
  http::Outcome service_entries(const http::Request& request, Entries kind) const;
  http::Outcome catalog_nodes(const http::Request& request) const;
  http::Outcome register_service(const http::Request& request) const;
  http::Outcome deregister_service(const http::Request& request) const;
  http::Outcome agent_services(const http::Request& request) const;
  http::Outcome agent_checks(const http::Request& request) const;
  // Consul's 403 for a request whose token does not allow `need` (on `appid`), if so.
  std::optional<http::Response> refused(const http::Request& request, Need need,
                                        std::string_view appid = {}) const;
  // The same for a write on `appid`, and Consul's 429 for one over its source's rate.
  std::optional<http::Response> refused_write(const http::Request& request,
                                              std::string_view appid) const;
  // The appid a Consul service name reads in `env`: the one spelt so, else one equal to it
  // without regard to case (Consul's lookup).
  std::string service_appid(const std::string& env, const std::string& name) const;
  // The instance a Consul service ID names in `env` (this node's zone, no heartbeat).
  std::optional<cluster::InstanceId> agent_service(const std::string& env,
                                                   const std::string& id) const;
  http::Outcome register_check(const http::Request& request);
  http::Outcome deregister_check(const http::Request& request);
  // /v1/agent/check/pass|warn|fail/<id> and /v1/agent/check/update/<id>: a TTL check's state.
  http::Outcome update_check(const http::Request& request);
  // The answer now, or a blocking query parked until the index differs from the client's.
  http::Outcome blocking(const ConsulQuery& query, std::string appid,
                         std::function<http::Response()> render) const;

  registry::Registry& registry_;
  cluster::Writes& writes_;
  const Clock& clock_;
  const NodeIdentity& identity_;
  const cluster::Replicator* replicator_;
  std::shared_ptr<ConsulWatch> watch_;
  const Access& access_;
  WriteLimit& write_limit_;
  // The zone's Consul registrations by service and check ID; told by the registry from the
  // constructor to the destructor.
  checks::CheckIndex index_;
  checks::CheckWrites check_writes_;
  const checks::AllowedRequests check_requests_;
  checks::CheckRunner runner_;  // last: its thread stops before the rest goes
};

}  // namespace muster::api
