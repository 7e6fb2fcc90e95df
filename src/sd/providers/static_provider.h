#pragma once
// static_configs: the job's fixed groups, sent once at start (sources "0", "1", ...).
// Threading: start() and stop() on the sd's io_context thread.
#include "sd/provider.h"

namespace muster::sd {

class StaticProvider : public Provider {
 public:
  explicit StaticProvider(Groups groups) : groups_(std::move(groups)) {}
  void start(Send send) override { send(groups_); }
  void stop() override {}

 private:
  Groups groups_;
};

}  // namespace muster::sd
