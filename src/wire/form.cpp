#include "wire/form.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace muster::wire {

void append_field(std::string& out, std::string_view key, std::string_view value) {
  if (!out.empty()) out.push_back('&');
  out += key;
  out.push_back('=');
  out += boost::urls::encode(value, boost::urls::unreserved_chars);
}

void append_field(std::string& out, std::string_view key, int64_t value) {
  append_field(out, key, std::to_string(value));
}

void MetadataJson::add(std::string_view key, std::string_view value) {
  if (!text_.empty()) text_.push_back(',');
  text_ += boost::json::serialize(boost::json::string_view(key));
  text_.push_back(':');
  text_ += boost::json::serialize(boost::json::string_view(value));
}

std::string MetadataJson::text() const {
  return "{" + text_ + "}";
}

void append_identity(std::string& out, const InstanceId& id) {
  append_field(out, "zone", id.zone);
  append_field(out, "env", id.env);
  append_field(out, "appid", id.appid);
  append_field(out, "hostname", id.hostname);
}

}  // namespace muster::wire
