#include "api/native_bind.h"

#include <algorithm>
#include <charconv>

#include "common/utf8.h"
#include "http/json_params.h"
#include "wire/field_limits.h"

namespace muster::api {

std::variant<http::Params, std::string> bind_params(const http::Request& request) {
  http::Params params;
  if (request.method == "POST") {
    if (http::is_json_content_type(request.content_type)) {
      if (request.body.empty()) return std::string("the JSON body must be an object");
      if (auto err = http::parse_json_object(request.body, params)) return *err;
    } else if (auto err = http::parse_urlencoded(request.body, params)) {
      return *err;
    }
  }
  if (auto err = http::parse_urlencoded(request.query, params)) return *err;
  // Text that is not UTF-8 would make every JSON answer that carries it unreadable (issue 15.1).
  // The message names the field, never the bytes.
  for (const auto& [key, value] : params.pairs()) {
    if (!valid_utf8(key)) return std::string("a parameter name is not valid UTF-8");
    if (!valid_utf8(value)) return key + " is not valid UTF-8";
  }
  return params;
}

std::optional<int64_t> parse_int(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(std::string_view t) {
  if (t == "1" || t == "t" || t == "T" || t == "true" || t == "TRUE" || t == "True") return true;
  if (t == "0" || t == "f" || t == "F" || t == "false" || t == "FALSE" || t == "False")
    return false;
  return std::nullopt;
}

std::string Binder::required(std::string_view key) {
  const auto v = params_.first(key);
  if (!v || v->empty()) {
    fail(std::string(key) + " is required");
    return {};
  }
  return std::string(*v);
}

void Binder::limit(std::string_view key, std::string_view value, size_t max) {
  if (value.size() > max) {
    fail(std::string(key) + " is too long: " + std::to_string(value.size()) + " bytes (at most " +
         std::to_string(max) + ")");
  }
}

void Binder::limit_count(std::string_view what, size_t n, size_t max) {
  if (n > max) {
    fail("too many " + std::string(what) + ": " + std::to_string(n) + " (at most " +
         std::to_string(max) + ")");
  }
}

std::string Binder::optional(std::string_view key) {
  return std::string(params_.first(key).value_or(""));
}

int64_t Binder::integer(std::string_view key) {
  const auto v = params_.first(key);
  if (!v || v->empty()) return 0;
  if (auto n = parse_int(*v)) return *n;
  fail(std::string(key) + " must be an integer, got \"" + std::string(utf8_prefix(*v, 64)) + "\"");
  return 0;
}

bool Binder::boolean(std::string_view key) {
  const auto v = params_.first(key);
  if (!v || v->empty()) return false;
  if (auto b = parse_bool(*v)) return *b;
  fail(std::string(key) + " must be a boolean (true or false), got \"" +
       std::string(utf8_prefix(*v, 64)) + "\"");
  return false;
}

std::vector<std::string> Binder::list(std::string_view key) const {
  std::vector<std::string> out;
  for (std::string_view v : params_.all(key))
    out.emplace_back(v);
  return out;
}

std::vector<int64_t> Binder::integer_list(std::string_view key) {
  std::vector<int64_t> out;
  for (std::string_view v : params_.all(key)) {
    if (auto n = parse_int(v)) {
      out.push_back(*n);
    } else {
      fail(std::string(key) + " must be integers, got \"" + std::string(utf8_prefix(v, 64)) + "\"");
    }
  }
  return out;
}

std::variant<registry::Metadata, std::string> parse_metadata(std::string_view text) {
  // A Bilibili node replicates an instance without metadata as `metadata=null` (issue 14.2).
  if (text.empty() || text == "null") return registry::Metadata{};
  auto parsed = http::parse_string_object(text);
  if (auto* err = std::get_if<std::string>(&parsed)) return "invalid metadata: " + *err;
  auto& pairs = std::get<http::StringPairs>(parsed);
  if (pairs.size() > wire::limits::kMetadataKeys) {
    return "metadata has " + std::to_string(pairs.size()) + " keys (at most " +
           std::to_string(wire::limits::kMetadataKeys) + ")";
  }
  size_t bytes = 0;
  for (const auto& [k, v] : pairs) {
    if (k.size() > wire::limits::kMetadataKey) {
      return "a metadata key is too long: " + std::to_string(k.size()) + " bytes (at most " +
             std::to_string(wire::limits::kMetadataKey) + ")";
    }
    bytes += k.size() + v.size();
  }
  if (bytes > wire::limits::kMetadataBytes) {
    return "metadata is too large: " + std::to_string(bytes) +
           " bytes of keys and values (at most " + std::to_string(wire::limits::kMetadataBytes) +
           ")";
  }
  return std::move(pairs);
}

namespace {

// The limits of the fields that name an instance (all but the hostnames of a set).
void limit_names(Binder& b, std::string_view zone, std::string_view env, std::string_view appid) {
  b.limit("zone", zone, wire::limits::kZone);
  b.limit("env", env, wire::limits::kZone);
  b.limit("appid", appid, wire::limits::kAppid);
}

// The limits of what a read names: fetch, fetchs, poll and polls.
void limit_read(Binder& b, std::string_view env, std::string_view zone,
                const std::vector<std::string>& appids) {
  b.limit("env", env, wire::limits::kZone);
  b.limit("zone", zone, wire::limits::kZone);
  for (const std::string& appid : appids)
    b.limit("appid", appid, wire::limits::kAppid);
}

int bind_status(Binder& b, std::string_view text) {
  const auto n = parse_int(text);
  if (!n || (*n != registry::kStatusUp && *n != registry::kStatusDown)) {
    b.fail("status must be 1 (up) or 2 (down), got \"" + std::string(utf8_prefix(text, 64)) + "\"");
    return 0;
  }
  return static_cast<int>(*n);
}

}  // namespace

std::variant<RegisterRequest, std::string> bind_register(const http::Params& params) {
  Binder b(params);
  RegisterRequest r;
  auto& a = r.args;
  a.zone = b.required("zone");
  a.env = b.required("env");
  a.appid = b.required("appid");
  a.hostname = b.required("hostname");
  const std::string status = b.required("status");
  if (b.ok()) a.status = bind_status(b, status);
  a.addrs = b.list("addrs");
  if (a.addrs.empty()) b.fail("addrs is required");
  a.region = b.optional("region");
  a.version = b.optional("version");
  limit_names(b, a.zone, a.env, a.appid);
  b.limit("hostname", a.hostname, wire::limits::kHostname);
  b.limit("region", a.region, wire::limits::kZone);
  b.limit("version", a.version, wire::limits::kVersion);
  b.limit_count("addrs", a.addrs.size(), wire::limits::kAddrs);
  for (const std::string& addr : a.addrs)
    b.limit("an addr", addr, wire::limits::kAddr);
  r.replication = b.boolean("replication");
  r.from_zone = b.boolean("from_zone");
  a.dirty_timestamp = b.integer("dirty_timestamp");
  // muster's own: how long ago the copy's lease was renewed at the sending peer (§5.7). Absent
  // (a client, a Bilibili node): renewed now.
  if (params.first("renew_age")) a.lease_age_ns = b.integer("renew_age");
  // muster's own: a peer replicating an instance without heartbeat (a Consul registration).
  a.lease = params.first("lease") != std::optional<std::string_view>("false");
  // Accepted and ignored (docs/decisions.md §3), but must be an integer.
  b.integer("latest_timestamp");
  if (!b.ok()) return b.error();
  auto metadata = parse_metadata(params.first("metadata").value_or(""));
  if (auto* err = std::get_if<std::string>(&metadata)) return *err;
  a.metadata = std::move(std::get<registry::Metadata>(metadata));
  return r;
}

std::variant<InstanceRequest, std::string> bind_instance(const http::Params& params, bool renew) {
  Binder b(params);
  InstanceRequest r;
  r.zone = b.required("zone");
  r.env = b.required("env");
  r.appid = b.required("appid");
  r.hostname = b.required("hostname");
  limit_names(b, r.zone, r.env, r.appid);
  b.limit("hostname", r.hostname, wire::limits::kHostname);
  r.replication = b.boolean("replication");
  r.from_zone = b.boolean("from_zone");
  if (renew) {
    r.dirty_timestamp = b.integer("dirty_timestamp");
    if (params.first("renew_age")) r.lease_age_ns = b.integer("renew_age");
  } else
    r.latest_timestamp = b.integer("latest_timestamp");
  if (!b.ok()) return b.error();
  return r;
}

std::variant<SetRequest, std::string> bind_set(const http::Params& params) {
  Binder b(params);
  SetRequest r;
  auto& a = r.args;
  a.zone = b.required("zone");
  a.env = b.required("env");
  a.appid = b.required("appid");
  a.hostnames = b.list("hostname");
  if (b.ok() && a.hostnames.empty()) b.fail("hostname is required");
  limit_names(b, a.zone, a.env, a.appid);
  b.limit_count("hostnames", a.hostnames.size(), wire::limits::kSetHostnames);
  for (const std::string& h : a.hostnames)
    b.limit("hostname", h, wire::limits::kHostname);
  r.replication = b.boolean("replication");
  r.from_zone = b.boolean("from_zone");
  a.set_timestamp = b.integer("set_timestamp");
  if (!b.ok()) return b.error();
  const auto statuses = params.all("status");
  const auto metadatas = params.all("metadata");
  const size_t n = a.hostnames.size();
  if (!statuses.empty() && statuses.size() != n) {
    return "got " + std::to_string(statuses.size()) + " status values for " + std::to_string(n) +
           " hostnames: give none or one per hostname";
  }
  if (!metadatas.empty() && metadatas.size() != n) {
    return "got " + std::to_string(metadatas.size()) + " metadata values for " + std::to_string(n) +
           " hostnames: give none or one per hostname";
  }
  for (std::string_view s : statuses)
    a.statuses.push_back(bind_status(b, s));
  if (!b.ok()) return b.error();
  for (std::string_view m : metadatas) {
    auto metadata = parse_metadata(m);
    if (auto* err = std::get_if<std::string>(&metadata)) return *err;
    a.metadatas.push_back(std::move(std::get<registry::Metadata>(metadata)));
  }
  return r;
}

namespace {

std::vector<std::string> distinct(std::vector<std::string> in) {
  std::vector<std::string> out;
  for (auto& s : in) {
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

std::variant<FetchRequest, std::string> bind_fetch(const http::Params& params, bool many) {
  Binder b(params);
  FetchRequest r;
  r.env = b.required("env");
  if (many) {
    r.appids = distinct(b.list("appid"));
    if (b.ok() && r.appids.empty()) b.fail("appid is required");
  } else {
    r.appids.push_back(b.required("appid"));
  }
  const int64_t status = b.integer("status");
  if (b.ok() && status == 0) b.fail("status is required");
  if (b.ok() && (status < 0 || status > 0xffff))
    b.fail("status must be a bitmask: 1 up, 2 down, 3 all");
  r.status = static_cast<int>(status);
  r.zone = b.optional("zone");
  limit_read(b, r.env, r.zone, r.appids);
  if (!b.ok()) return b.error();
  return r;
}

std::variant<registry::PollQuery, std::string> bind_poll(const http::Params& params, bool single) {
  Binder b(params);
  registry::PollQuery q;
  q.single = single;
  q.env = b.required("env");
  std::vector<std::string> appids = b.list("appid");
  if (b.ok() && appids.empty()) b.fail("appid is required");
  b.limit("hostname", b.required("hostname"), wire::limits::kHostname);
  std::vector<int64_t> latest = b.integer_list("latest_timestamp");
  q.zone = b.optional("zone");
  q.report_missing = b.boolean("report_missing");
  limit_read(b, q.env, q.zone, appids);
  if (!b.ok()) return b.error();
  if (single) {
    appids.resize(1);
    latest.resize(1);  // a missing latest_timestamp means 0
  } else if (latest.size() != appids.size()) {
    return "got " + std::to_string(latest.size()) + " latest_timestamp values for " +
           std::to_string(appids.size()) + " appids: give one per appid";
  }
  // A repeated appid is watched once, with the first timestamp given for it.
  for (size_t i = 0; i < appids.size(); ++i) {
    if (std::find(q.appids.begin(), q.appids.end(), appids[i]) != q.appids.end()) continue;
    q.appids.push_back(std::move(appids[i]));
    q.latest.push_back(latest[i]);
  }
  return q;
}

}  // namespace muster::api
