// Fuzzes what a node reads from its peers and its configuration: a fetch/all answer applied to a
// registry (syncup), a /discovery/digests answer (anti-entropy), and the --nodes and --zones
// values. Besides crashes and sanitizer reports it checks one property: applying the same
// snapshot twice changes nothing the second time (the dirty rule keeps the copy it has).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cluster/cluster_options.h"
#include "cluster/snapshot.h"
#include "common/clock.h"
#include "registry/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace muster;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)cluster::parse_digests(text);
  (void)cluster::parse_nodes(text);
  (void)cluster::parse_zones(text);
  FakeClock clock;
  registry::Registry registry(clock, {});
  if (!cluster::apply_snapshot(registry, text)) return 0;
  const auto first = registry.digests();
  (void)cluster::apply_snapshot(registry, text);
  const auto second = registry.digests();
  if (first.size() != second.size()) std::abort();
  for (size_t i = 0; i < first.size(); ++i) {
    if (first[i].digest != second[i].digest || first[i].instances != second[i].instances)
      std::abort();
  }
  return 0;
}
