#include "sd/provider.h"

#include "sd/providers/consul_provider.h"
#include "sd/providers/dns_provider.h"
#include "sd/providers/exec_provider.h"
#include "sd/providers/file_provider.h"
#include "sd/providers/http_provider.h"
#include "sd/providers/muster_provider.h"
#include "sd/providers/static_provider.h"

namespace muster::sd {

MadeProvider make_provider(const ProviderConfig& config, ProviderContext context) {
  struct Make {
    ProviderContext& context;
    MadeProvider operator()(const StaticConfig& c) {
      return std::make_unique<StaticProvider>(c.groups);
    }
    MadeProvider operator()(const FileConfig& c) {
      return make_file_provider(c, std::move(context));
    }
    MadeProvider operator()(const HttpConfig& c) {
      return make_http_provider(c, std::move(context));
    }
    MadeProvider operator()(const ExecConfig& c) {
      return make_exec_provider(c, std::move(context));
    }
    MadeProvider operator()(const MusterConfig& c) {
      return make_muster_provider(c, std::move(context));
    }
    MadeProvider operator()(const DnsConfig& c) { return make_dns_provider(c, std::move(context)); }
    MadeProvider operator()(const ConsulConfig& c) {
      return make_consul_provider(c, std::move(context));
    }
  };
  return std::visit(Make{context}, config);
}

}  // namespace muster::sd
