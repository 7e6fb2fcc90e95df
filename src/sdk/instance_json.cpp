#include "instance_json.h"

#include "wire/instance_json.h"

namespace muster::detail {

std::optional<Instance> readable_instance(const boost::json::object& o) {
  wire::InstanceRecord r = wire::read_instance(o);
  if (!r.readable()) return std::nullopt;
  Instance i;
  i.region = std::move(r.region);
  i.zone = std::move(r.zone);
  i.env = std::move(r.env);
  i.appid = std::move(r.appid);
  i.hostname = std::move(r.hostname);
  i.version = std::move(r.version);
  i.addrs = std::move(r.addrs);
  for (auto& [k, v] : r.metadata)
    i.metadata.emplace(std::move(k), std::move(v));
  i.status = static_cast<int>(r.status);
  i.latest_timestamp = r.latest_timestamp;
  return i;
}

}  // namespace muster::detail
