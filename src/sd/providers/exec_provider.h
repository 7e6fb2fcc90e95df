#pragma once
// exec_sd_configs, the CMDB hook: runs a command every refresh_interval (no shell; argv as
// configured) that prints target groups as JSON on stdout (the file_sd format). Group i gets source
// "<i>" and the label __meta_exec_command. A run that exits non-zero, prints a bad document or
// outlives `timeout` (it is then killed) fails: the last good targets stay. Its stderr is logged.
// Threading: as RefreshProvider.
#include <memory>

#include "sd/config.h"
#include "sd/provider.h"

namespace muster::sd {

std::unique_ptr<Provider> make_exec_provider(const ExecConfig& config, ProviderContext context);

}  // namespace muster::sd
