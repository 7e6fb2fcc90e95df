#pragma once
// One discovery mechanism feeding target groups to the manager (Prometheus's Discoverer).
//
// Contract: after start(), the provider sends its full set of groups first, then changed groups;
// a group replaces the earlier group with the same source, and a group with no targets deletes
// that source. A provider that fails keeps quiet (the manager keeps its last groups) and says why
// in the log and its metrics.
// Threading: a provider is created, started and stopped on the sd's one io_context thread and
// calls `send` only there; after stop() it never calls it again.
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "common/metrics.h"
#include "sd/config.h"
#include "sd/target_group.h"

namespace muster::sd {

// Per-provider counters, shown on /metrics with the provider's name and mechanism.
struct ProviderStats {
  metrics::Counter updates;        // batches sent to the manager
  metrics::Counter failures;       // refreshes, reads or runs that failed
  metrics::Counter refreshes;      // refreshes done (failed or not)
  metrics::Counter refresh_nanos;  // time spent refreshing, in total
};

class Provider {
 public:
  using Send = std::function<void(Groups)>;
  virtual ~Provider() = default;
  virtual void start(Send send) = 0;
  virtual void stop() = 0;
};

struct ProviderContext {
  boost::asio::io_context& io;
  std::shared_ptr<ProviderStats> stats;
  std::string name;  // "file/3", for the log
};

// A provider for `config`, or why it cannot be made.
using MadeProvider = std::variant<std::unique_ptr<Provider>, std::string>;
MadeProvider make_provider(const ProviderConfig& config, ProviderContext context);

}  // namespace muster::sd
