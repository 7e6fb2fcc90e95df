#include "api/all_apis.h"

namespace muster::api {

std::vector<std::unique_ptr<Api>> make_apis(const ApiContext& context, const ApiOptions& options) {
  std::vector<std::unique_ptr<Api>> apis;
  apis.push_back(std::make_unique<NativeApi>(context, options.native));
  apis.push_back(std::make_unique<PrometheusSdApi>(context));
  apis.push_back(std::make_unique<ConsulApi>(context, options.consul));
  return apis;
}

}  // namespace muster::api
