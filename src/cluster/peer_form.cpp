#include "cluster/peer_form.h"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "common/json_writer.h"

namespace muster::cluster {

void append_field(std::string& out, std::string_view key, std::string_view value) {
  if (!out.empty()) out.push_back('&');
  out += key;
  out.push_back('=');
  out += boost::urls::encode(value, boost::urls::unreserved_chars);
}

void append_field(std::string& out, std::string_view key, int64_t value) {
  if (!out.empty()) out.push_back('&');
  out += key;
  out.push_back('=');
  json::append_int(out, value);
}

void append_identity(std::string& out, std::string_view region, const registry::InstanceKey& key) {
  append_field(out, "region", region);
  append_field(out, "zone", key.zone);
  append_field(out, "env", key.env);
  append_field(out, "appid", key.appid);
  append_field(out, "hostname", key.hostname);
  append_field(out, "from_zone", "true");
}

registry::InstanceKey key_of(const registry::Instance& inst) {
  return {inst.zone->name, inst.zone->app->env, inst.zone->app->appid, *inst.hostname};
}

std::string register_form(const registry::Instance& inst) {
  std::string out;
  out.reserve(256);
  append_identity(out, inst.region, key_of(inst));
  // Repeated keys, never one comma-joined value (docs/decisions.md §6.3).
  for (std::string_view addr : inst.addrs)
    append_field(out, "addrs", addr);
  append_field(out, "status", inst.status);
  append_field(out, "version", inst.version);
  std::string metadata = "{";
  for (auto it = inst.metadata.begin(); it != inst.metadata.end(); ++it) {
    if (metadata.size() > 1) metadata.push_back(',');
    json::append_string(metadata, *it);
    metadata.push_back(':');
    ++it;
    json::append_string(metadata, *it);
  }
  metadata.push_back('}');
  if (metadata.size() > 2) append_field(out, "metadata", metadata);
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
  for (const registry::Metadata& m : args.metadatas) {
    std::string json = "{";
    for (const auto& [k, v] : m) {
      if (json.size() > 1) json.push_back(',');
      json::append_string(json, k);
      json.push_back(':');
      json::append_string(json, v);
    }
    json.push_back('}');
    append_field(out, "metadata", json);
  }
  append_field(out, "set_timestamp", set_timestamp);
  return out;
}

}  // namespace muster::cluster
