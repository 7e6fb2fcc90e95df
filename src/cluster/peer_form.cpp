#include "cluster/peer_form.h"

#include "wire/form.h"

namespace muster::cluster {

using wire::append_field;

void append_identity(std::string& out, std::string_view region, const registry::InstanceKey& key) {
  wire::append_field(out, "region", region);
  wire::append_identity(out, {key.zone, key.env, key.appid, key.hostname});
  wire::append_field(out, "from_zone", "true");
}

registry::InstanceKey key_of(const registry::Instance& inst) {
  return {inst.zone->name, inst.zone->app->env, inst.zone->app->appid, *inst.hostname};
}

std::string register_form(const registry::Instance& inst) {
  std::string out;
  out.reserve(256);
  append_identity(out, inst.region, key_of(inst));
  wire::MetadataJson metadata;  // the registry keeps it flat: key, value, key, value, ...
  for (const auto [k, v] : inst.metadata.pairs())
    metadata.add(k, v);
  wire::append_registration(out, inst.addrs, inst.status, inst.version, metadata);
  if (!inst.lease) append_field(out, "lease", "false");
  append_field(out, "reg_timestamp", inst.reg_timestamp);
  append_field(out, "dirty_timestamp", inst.dirty_timestamp);
  append_field(out, "latest_timestamp", inst.latest_timestamp);
  return out;
}

std::string renew_form(const registry::Instance& inst) {
  std::string out;
  out.reserve(160);
  append_identity(out, inst.region, key_of(inst));
  append_field(out, "dirty_timestamp", inst.dirty_timestamp);
  return out;
}

std::string cancel_form(std::string_view region, const registry::InstanceKey& key,
                        int64_t latest_timestamp) {
  std::string out;
  append_identity(out, region, key);
  append_field(out, "latest_timestamp", latest_timestamp);
  return out;
}

std::string set_form(std::string_view region, const registry::SetArgs& args,
                     int64_t set_timestamp) {
  std::string out;
  append_field(out, "region", region);
  append_field(out, "zone", args.zone);
  append_field(out, "env", args.env);
  append_field(out, "appid", args.appid);
  append_field(out, "from_zone", "true");
  for (const std::string& h : args.hostnames)
    append_field(out, "hostname", h);
  for (int s : args.statuses)
    append_field(out, "status", s);
  for (const registry::Metadata& m : args.metadatas)
    append_field(out, "metadata", wire::MetadataJson::of(m).text());
  append_field(out, "set_timestamp", set_timestamp);
  return out;
}

}  // namespace muster::cluster
