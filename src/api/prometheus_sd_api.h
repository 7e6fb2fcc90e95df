#pragma once
// Prometheus HTTP SD served by the node (issue 17): GET /prometheus/sd answers exactly what
// Prometheus's http_sd_configs requires (docs/http_sd.md: status 200, application/json, a list of
// target groups), one group per instance, so that each target carries its own labels:
// __meta_muster_{appid,env,zone,region,hostname,version,status,scheme} and
// __meta_muster_metadata_<key> (wire/prometheus_target.h, as muster sd's muster provider).
// Query: appid (repeatable; none: every app of the env), env (default: the node's), zone,
// status (1 up, 2 down, 3 both: the default), scheme (whose address is the target; default http).
// Bad input is a 400 with a plain text reason; Prometheus then keeps the targets it had.
// Threading: the handler runs on any worker; it reads the registry app by app.
#include "api/api.h"

namespace muster::api {

class PrometheusSdApi final : public Api {
 public:
  explicit PrometheusSdApi(const ApiContext& context);
  void add_routes(http::Router& router) override;
  std::optional<http::Response> reject_body(std::string_view path,
                                            std::string message) const override;

 private:
  http::Outcome handle(const http::Request& request) const;

  registry::Registry& registry_;
  const NodeIdentity& identity_;
  const Access& access_;
};

}  // namespace muster::api
