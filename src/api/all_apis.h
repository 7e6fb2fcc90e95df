#pragma once
// The registration list of the APIs a node serves, and their options.
// Threading: make_apis() runs on the node's owning thread.
#include <memory>
#include <vector>

#include "api/api.h"
#include "api/consul_api.h"
#include "api/native_api.h"
#include "api/prometheus_sd_api.h"

namespace muster::api {

struct ApiOptions {
  NativeOptions native;
  ConsulOptions consul;
};

// Every API, in the order their routes are added.
std::vector<std::unique_ptr<Api>> make_apis(const ApiContext& context, const ApiOptions& options);

}  // namespace muster::api
