#pragma once
// The HTTP endpoints of `muster sd`:
//   GET  /sd/<job>   the job's targets as Prometheus's http_sd wants them: 200, Content-Type
//                    application/json; charset=utf-8, a list of target groups ("[]" for a job
//                    that was removed from the configuration, so Prometheus drops its targets);
//                    404 for a job never configured.
//   GET  /sd         the jobs with their target counts.
//   GET  /metrics    see metrics_text.h.
//   POST /-/reload   re-reads the configuration (as SIGHUP); 500 with the reason if it is bad.
//   GET  /-/healthy  200.
// Threading: handlers run on the server's workers and only read the service's published state
// (reload waits for the service thread).
#include "http/router.h"
#include "sd/service.h"

namespace muster::sd {

void add_sd_routes(http::Router& router, Service& service);

}  // namespace muster::sd
