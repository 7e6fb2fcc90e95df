#include "api/consul_agent.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cctype>

#include "api/consul_render.h"
#include "checks/consul_decode.h"
#include "common/endpoint.h"
#include "wire/field_limits.h"

namespace muster::api::consul {

namespace {

namespace json = boost::json;
using checks::field;
using checks::Invalid;
using checks::text_field;

bool valid_meta_key(std::string_view k) {
  return !k.empty() && k.size() <= 128 && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

}  // namespace

std::variant<Registration, std::string> registration(std::string_view body,
                                                     const NodeIdentity& identity,
                                                     const std::string& env, int64_t now_ms) {
  if (body.empty()) return std::string("Request decode failed: EOF");
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec);
  if (ec) return "Request decode failed: " + ec.message();
  if (!doc.is_object()) return std::string("Request decode failed: the body must be an object");
  const json::object& o = doc.get_object();
  try {
    registry::RegisterArgs a;
    a.region = identity.region;
    a.zone = identity.zone;
    a.env = env;
    a.appid = text_field(o, "Name");
    if (a.appid.empty()) return std::string("Missing service name");
    a.hostname = text_field(o, "ID");
    if (a.hostname.empty()) a.hostname = a.appid;
    if (a.appid.size() > wire::limits::kAppid)
      return std::string("Invalid service name: over 256 bytes");
    if (a.hostname.size() > wire::limits::kHostname)
      return std::string("Invalid service ID: over 256 bytes");
    std::string address = text_field(o, "Address");
    if (address == "0.0.0.0" || address == "::" || address == "[::]")
      return std::string("Invalid service address");
    if (address.empty()) {  // readers fall back to the node's address: this node's
      address = parse_host_port(identity.advertise_addr).value_or(Endpoint{}).host;
    }
    if (address.find(':') != std::string::npos && address.front() != '[')
      address = "[" + address + "]";
    int64_t port = 0;
    if (const json::value* p = field(o, "Port")) {
      if (!p->is_int64() || p->get_int64() < 0 || p->get_int64() > 65535)
        return std::string("Request decode failed: Port must be an integer in 0..65535");
      port = p->get_int64();
    }
    a.addrs = {"http://" + address + ":" + std::to_string(port)};
    if (a.addrs[0].size() > wire::limits::kAddr)
      return std::string("Invalid service address: too long");
    if (const json::value* meta = field(o, "Meta")) {
      if (!meta->is_object()) return std::string("Request decode failed: Meta must be an object");
      if (meta->get_object().size() > 64)
        return std::string(
            "Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs");
      for (const auto& [k, v] : meta->get_object()) {
        if (!valid_meta_key(k))
          return "Invalid Service Meta: Key contains invalid characters: \"" + std::string(k) +
                 "\"";
        if (std::string_view(k).starts_with("consul-"))
          return "Invalid Service Meta: Key prefix 'consul-' is reserved for internal use";
        if (!v.is_string())
          return std::string("Request decode failed: Meta values must be strings");
        if (v.get_string().size() > 512)
          return "Invalid Service Meta: Value is too long (limit: 512 characters)";
        a.metadata.emplace_back(std::string(k), std::string(v.get_string()));
      }
    }
    if (const json::value* tags = field(o, "Tags")) {
      if (!tags->is_array()) return std::string("Request decode failed: Tags must be a list");
      std::vector<std::string> list;
      for (const auto& t : tags->get_array()) {
        if (!t.is_string()) return std::string("Request decode failed: Tags must be strings");
        list.emplace_back(t.get_string());
      }
      if (list.size() > 64) return std::string("Invalid service: more than 64 tags");
      if (!list.empty()) a.metadata.emplace_back(std::string(kTagsKey), tags_value(list));
    }
    std::sort(a.metadata.begin(), a.metadata.end());
    size_t bytes = 0;
    for (const auto& [k, v] : a.metadata)
      bytes += k.size() + v.size();
    if (bytes > wire::limits::kMetadataBytes)
      return std::string("Invalid service: Meta and Tags over 8192 bytes together");
    auto checks = checks::parse_registration_checks(field(o, "Check"), field(o, "Checks"),
                                                    a.hostname, a.appid, now_ms);
    if (auto* error = std::get_if<std::string>(&checks)) return std::move(*error);
    a.status = registry::kStatusUp;
    a.lease = false;
    return Registration{std::move(a), std::move(std::get<std::vector<checks::Check>>(checks))};
  } catch (const Invalid& e) {
    return e.message;
  }
}

std::variant<CheckRegistration, std::string> check_registration(std::string_view body) {
  if (body.empty()) return std::string("Request decode failed: EOF");
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec);
  if (ec) return "Request decode failed: " + ec.message();
  if (!doc.is_object()) return std::string("Request decode failed: the body must be an object");
  auto parsed = checks::parse_check_definition(doc);
  if (auto* problem = std::get_if<std::string>(&parsed)) return std::move(*problem);
  CheckRegistration out{std::move(std::get<checks::Check>(parsed)), ""};
  if (out.check.name.empty()) return std::string("Missing check name");
  if (out.check.id.empty()) out.check.id = out.check.name;
  try {
    out.service_id = text_field(doc.get_object(), "ServiceID");
  } catch (const Invalid& e) {
    return e.message;
  }
  if (out.service_id.empty())
    return std::string("Invalid check: muster runs service checks only: ServiceID is required");
  return out;
}

std::variant<std::pair<checks::Status, std::string>, std::string> check_update_body(
    std::string_view body) {
  if (body.empty()) return std::string("Request decode failed: EOF");
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec);
  if (ec) return "Request decode failed: " + ec.message();
  if (!doc.is_object()) return std::string("Request decode failed: the body must be an object");
  try {
    const std::string status = text_field(doc.get_object(), "Status");
    const auto parsed = checks::parse_status(status);
    if (!parsed) return "Invalid check status: '" + status + "'";
    return std::pair{*parsed, text_field(doc.get_object(), "Output")};
  } catch (const Invalid& e) {
    return e.message;
  }
}

}  // namespace muster::api::consul
