#include "cluster/snapshot.h"

#include <algorithm>
#include <boost/json/parse.hpp>

#include "common/lenient_json.h"
#include "common/utf8.h"

namespace muster::cluster {

namespace {

std::string_view str(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

int64_t num(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

bool all_utf8(const registry::RegisterArgs& a) {
  for (std::string_view s :
       {std::string_view(a.region), std::string_view(a.zone), std::string_view(a.env),
        std::string_view(a.appid), std::string_view(a.hostname), std::string_view(a.version)})
    if (!valid_utf8(s)) return false;
  for (const auto& addr : a.addrs)
    if (!valid_utf8(addr)) return false;
  for (const auto& [k, v] : a.metadata)
    if (!valid_utf8(k) || !valid_utf8(v)) return false;
  return true;
}

}  // namespace

// An instance as rendered by fetch/all or a -409 answer, as a replicated register: the peer's
// dirty_timestamp decides which copy wins.
std::optional<registry::RegisterArgs> instance_args(const boost::json::value& v) {
  if (!v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  registry::RegisterArgs a;
  a.region = str(o, "region");
  a.zone = str(o, "zone");
  a.env = str(o, "env");
  a.appid = str(o, "appid");
  a.hostname = str(o, "hostname");
  a.version = str(o, "version");
  if (a.zone.empty() || a.env.empty() || a.appid.empty() || a.hostname.empty()) return std::nullopt;
  if (const auto* addrs = o.if_contains("addrs"); addrs != nullptr && addrs->is_array()) {
    for (const auto& addr : addrs->get_array())
      if (addr.is_string()) a.addrs.emplace_back(addr.get_string());
  }
  if (const auto* md = o.if_contains("metadata"); md != nullptr && md->is_object()) {
    for (const auto& [k, val] : md->get_object()) {
      if (val.is_string()) a.metadata.emplace_back(k, val.get_string());
    }
    std::sort(a.metadata.begin(), a.metadata.end());
  }
  a.status = static_cast<int>(num(o, "status"));
  if (a.status != registry::kStatusUp && a.status != registry::kStatusDown)
    a.status = registry::kStatusUp;
  a.dirty_timestamp = num(o, "dirty_timestamp");
  if (a.dirty_timestamp <= 0) return std::nullopt;
  if (!all_utf8(a)) return std::nullopt;
  return a;
}

std::optional<SnapshotCounts> apply_snapshot(registry::Registry& registry, std::string_view body) {
  const boost::json::value v = parse_lenient_json(body);
  if (!v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  const auto* code = o.if_contains("code");
  const auto* data = o.if_contains("data");
  if (code == nullptr || !code->is_int64() || code->get_int64() != 0) return std::nullopt;
  if (data == nullptr || !data->is_object()) return std::nullopt;
  SnapshotCounts counts;
  for (const auto& [appid, list] : data->get_object()) {
    if (!list.is_array()) {
      ++counts.skipped;
      continue;
    }
    for (const auto& inst : list.get_array()) {
      if (auto args = instance_args(inst)) {
        registry.register_instance(*args);
        ++counts.applied;
      } else {
        ++counts.skipped;
      }
    }
  }
  return counts;
}

std::optional<Digests> parse_digests(std::string_view body) {
  const boost::json::value v = parse_lenient_json(body);
  if (!v.is_object()) return std::nullopt;
  const auto* code = v.get_object().if_contains("code");
  const auto* data = v.get_object().if_contains("data");
  if (code == nullptr || !code->is_int64() || code->get_int64() != 0 || data == nullptr ||
      !data->is_array())
    return std::nullopt;
  Digests out;
  for (const auto& item : data->get_array()) {
    if (!item.is_object()) continue;
    const auto& o = item.get_object();
    const auto* appid = o.if_contains("appid");
    const auto* env = o.if_contains("env");
    const auto* digest = o.if_contains("digest");
    const auto* count = o.if_contains("instances");
    if (appid == nullptr || !appid->is_string() || env == nullptr || !env->is_string() ||
        digest == nullptr || !digest->is_string() || count == nullptr || !count->is_int64())
      continue;
    DigestSummary s;
    s.instances = static_cast<size_t>(count->get_int64());
    s.digest = std::strtoull(std::string(digest->get_string()).c_str(), nullptr, 16);
    out[{std::string(appid->get_string()), std::string(env->get_string())}] = s;
  }
  return out;
}

}  // namespace muster::cluster
