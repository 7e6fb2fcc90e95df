#include "api/consul_agent.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cctype>

#include "api/consul_render.h"
#include "api/field_limits.h"

namespace muster::api::consul {

namespace {

namespace json = boost::json;

// Consul decodes keys without regard to case, and takes snake_case aliases.
std::string folded(std::string_view key) {
  std::string out;
  for (char c : key)
    if (c != '_') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

const json::value* field(const json::object& o, std::string_view name) {
  const std::string want = folded(name);
  for (const auto& [k, v] : o)
    if (folded(k) == want) return v.is_null() ? nullptr : &v;
  return nullptr;
}

struct Invalid {
  std::string message;
};

std::string text_field(const json::object& o, std::string_view name) {
  const json::value* v = field(o, name);
  if (v == nullptr) return "";
  if (!v->is_string())
    throw Invalid{"Request decode failed: " + std::string(name) + " must be a string"};
  return std::string(v->get_string());
}

bool valid_meta_key(std::string_view k) {
  return !k.empty() && k.size() <= 128 && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

}  // namespace

std::variant<registry::RegisterArgs, std::string> registration(std::string_view body,
                                                               const NodeIdentity& identity,
                                                               const std::string& env) {
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
    if (a.appid.size() > limits::kAppid) return std::string("Invalid service name: over 256 bytes");
    if (a.hostname.size() > limits::kHostname)
      return std::string("Invalid service ID: over 256 bytes");
    std::string address = text_field(o, "Address");
    if (address == "0.0.0.0" || address == "::" || address == "[::]")
      return std::string("Invalid service address");
    if (address.empty()) {  // readers fall back to the node's address: this node's
      address = identity.advertise_addr.substr(0, identity.advertise_addr.rfind(':'));
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
    if (a.addrs[0].size() > limits::kAddr) return std::string("Invalid service address: too long");
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
    if (bytes > limits::kMetadataBytes)
      return std::string("Invalid service: Meta and Tags over 8192 bytes together");
    const json::value* check = field(o, "Check");
    const json::value* checks = field(o, "Checks");
    if (check != nullptr ||
        (checks != nullptr && !(checks->is_array() && checks->get_array().empty())))
      return std::string(
          "Invalid check: muster does not run health checks yet; register without Check/Checks");
    a.status = registry::kStatusUp;
    a.lease = false;
    return a;
  } catch (const Invalid& e) {
    return e.message;
  }
}

}  // namespace muster::api::consul
