#include "instance_json.h"

#include "wire/instance_json.h"

namespace muster::detail {

std::optional<Instance> readable_instance(const boost::json::object& o) {
  wire::InstanceRecord r = wire::read_instance(o);
  if (!r.readable()) return std::nullopt;
  Instance i;
  wire::move_texts(r, i);
  for (auto& [k, v] : r.metadata)
    i.metadata.emplace(std::move(k), std::move(v));
  i.status = static_cast<int>(r.status);
  i.latest_timestamp = r.latest_timestamp;
  return i;
}

}  // namespace muster::detail
