#include "instance_json.h"

#include <boost/json/serialize.hpp>

#include "common/utf8.h"

namespace muster::detail {

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

bool readable(const Instance& i) {
  for (const std::string* s : {&i.region, &i.zone, &i.env, &i.appid, &i.hostname, &i.version})
    if (!valid_utf8(*s)) return false;
  for (const auto& a : i.addrs)
    if (!valid_utf8(a)) return false;
  for (const auto& [k, v] : i.metadata)
    if (!valid_utf8(k) || !valid_utf8(v)) return false;
  return true;
}

Instance instance_from_json(const json::object& o) {
  Instance i;
  i.region = json_string(o, "region");
  i.zone = json_string(o, "zone");
  i.env = json_string(o, "env");
  i.appid = json_string(o, "appid");
  i.hostname = json_string(o, "hostname");
  i.version = json_string(o, "version");
  if (const json::value* addrs = o.if_contains("addrs"); addrs != nullptr && addrs->is_array()) {
    for (const json::value& a : addrs->get_array())
      if (a.is_string()) i.addrs.emplace_back(a.get_string());
  }
  if (const json::value* md = o.if_contains("metadata"); md != nullptr && md->is_object()) {
    for (const auto& [k, v] : md->get_object())
      i.metadata[std::string(k)] = v.is_string() ? std::string(v.get_string()) : json::serialize(v);
  }
  i.status = static_cast<int>(json_int(o, "status"));
  i.latest_timestamp = json_int(o, "latest_timestamp");
  return i;
}

}  // namespace muster::detail
