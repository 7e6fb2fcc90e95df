#pragma once
// The registration list of muster sd's discovery mechanisms: the configuration parser reads each
// listed struct's `yaml_key` lists with its `parse`, and make_provider() makes each with its
// `make_provider` overload. A job's providers come in this order (then each list's order), which
// is the order of its target groups. Adding a mechanism: its files in this folder (a
// `<name>_provider.h` with the settings struct, `<name>_config.cpp` with its parser,
// `<name>_provider.cpp` with the provider) and one line here; CMake picks the files up.
// Threading: types only.
#include "sd/providers/consul_provider.h"
#include "sd/providers/dns_provider.h"
#include "sd/providers/exec_provider.h"
#include "sd/providers/file_provider.h"
#include "sd/providers/http_provider.h"
#include "sd/providers/muster_provider.h"
#include "sd/providers/static_provider.h"

namespace muster::sd {

template <class... Settings>
struct ProviderList {};

using AllProviders = ProviderList<StaticConfig,  //
                                  FileConfig,    //
                                  HttpConfig,    //
                                  ExecConfig,    //
                                  DnsConfig,     //
                                  MusterConfig,  //
                                  ConsulConfig>;

}  // namespace muster::sd
