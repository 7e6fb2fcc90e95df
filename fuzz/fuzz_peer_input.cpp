// Fuzzes what a node reads from its peers, its disk and its configuration: a peer's whole HTTP
// answer of any declared size (read as the node reads it, with a body limit), a fetch/all answer
// applied to a registry (syncup), a /discovery/digests answer (anti-entropy), the records of a
// data directory's file, and the --nodes and --zones values. The records' framing must give back
// exactly what it reads once the records are framed again. Besides crashes and sanitizer reports it
// checks one property: applying the same snapshot twice changes nothing the second time (the dirty
// rule keeps the copy it has).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cluster/cluster_options.h"
#include "cluster/peer_answer.h"
#include "cluster/snapshot.h"
#include "common/clock.h"
#include "registry/registry.h"
#include "store/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace muster;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // As a peer's answer: whatever length it declares or its chunks add up to, the reader takes at
  // most the limit (1 MiB here; 1 GiB in the node) and never more than was sent.
  if (auto answer = cluster::read_peer_answer(text, 1 << 20)) {
    if (answer->body.size() > text.size() || answer->body.size() > (1u << 20)) std::abort();
    FakeClock answer_clock;
    registry::Registry answered(answer_clock, {});
    (void)cluster::apply_snapshot(answered, answer->body);
  }
  (void)cluster::parse_digests(text);
  (void)cluster::parse_nodes(text);
  (void)cluster::parse_zones(text);
  std::string reframed;
  size_t records = 0;
  store::read_records(text, [&](const store::Record& r) {
    store::append_record(reframed, r.type, r.payload);
    ++records;
  });
  size_t again = 0;
  const auto second_read = store::read_records(reframed, [&](const store::Record&) { ++again; });
  if (again != records || second_read.damaged != 0 || second_read.truncated) std::abort();
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
