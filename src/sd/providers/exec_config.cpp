// exec_sd_configs entries: {command: [program, args...], refresh_interval, timeout}.
#include "sd/config_reader.h"
#include "sd/providers/exec_provider.h"

namespace muster::sd {

ExecConfig ExecConfig::parse(MapReader& entry) {
  ExecConfig c;
  c.command = scalars(entry.required("command"), "command");
  if (c.command.empty()) fail(entry.node(), "\"command\" must name a program");
  entry.optional("refresh_interval", c.refresh_interval);
  entry.optional("timeout", c.timeout);
  return c;
}

}  // namespace muster::sd
