#include "wire/instance_json.h"

#include <algorithm>
#include <boost/json/serialize.hpp>

#include "common/lenient_json.h"
#include "common/utf8.h"
#include "wire/field_limits.h"

namespace muster::wire {

namespace json = boost::json;

std::string json_string(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

int64_t json_int(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

bool InstanceRecord::readable() const {
  for (const std::string* s : {&region, &zone, &env, &appid, &hostname, &version})
    if (!valid_utf8(*s)) return false;
  for (const auto& a : addrs)
    if (!valid_utf8(a)) return false;
  for (const auto& [k, v] : metadata)
    if (!valid_utf8(k) || !valid_utf8(v)) return false;
  return true;
}

bool InstanceRecord::within_limits() const {
  if (zone.size() > limits::kZone || env.size() > limits::kZone || region.size() > limits::kZone ||
      appid.size() > limits::kAppid || hostname.size() > limits::kHostname ||
      version.size() > limits::kVersion || addrs.size() > limits::kAddrs ||
      metadata.size() > limits::kMetadataKeys)
    return false;
  for (const auto& a : addrs)
    if (a.size() > limits::kAddr) return false;
  size_t bytes = 0;
  for (const auto& [k, v] : metadata) {
    if (k.size() > limits::kMetadataKey) return false;
    bytes += k.size() + v.size();
  }
  return bytes <= limits::kMetadataBytes;
}

InstanceRecord read_instance(const json::object& o) {
  InstanceRecord r;
  r.region = json_string(o, "region");
  r.zone = json_string(o, "zone");
  r.env = json_string(o, "env");
  r.appid = json_string(o, "appid");
  r.hostname = json_string(o, "hostname");
  r.version = json_string(o, "version");
  if (const json::value* addrs = o.if_contains("addrs"); addrs != nullptr && addrs->is_array()) {
    for (const json::value& a : addrs->get_array())
      if (a.is_string()) r.addrs.emplace_back(a.get_string());
  }
  if (const json::value* md = o.if_contains("metadata"); md != nullptr && md->is_object()) {
    for (const auto& [k, v] : md->get_object())
      r.metadata.emplace_back(k, v.is_string() ? std::string(v.get_string()) : json::serialize(v));
    std::sort(r.metadata.begin(), r.metadata.end());
  }
  r.status = json_int(o, "status");
  r.latest_timestamp = json_int(o, "latest_timestamp");
  r.dirty_timestamp = json_int(o, "dirty_timestamp");
  r.renew_timestamp = json_int(o, "renew_timestamp");
  if (const json::value* lease = o.if_contains("lease"); lease != nullptr && lease->is_bool())
    r.lease = lease->get_bool();
  return r;
}

std::optional<Envelope> read_envelope(std::string_view body) {
  json::value v = parse_lenient_json(body);
  if (!v.is_object()) return std::nullopt;
  json::object& o = v.get_object();
  const json::value* code = o.if_contains("code");
  if (code == nullptr || !code->is_int64()) return std::nullopt;
  Envelope e;
  e.code = static_cast<int>(code->get_int64());
  e.message = json_string(o, "message");
  if (json::value* d = o.if_contains("data")) e.data = std::move(*d);
  if (json::value* err = o.if_contains("error")) e.error = std::move(*err);
  return e;
}

}  // namespace muster::wire
