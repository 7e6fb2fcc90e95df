#pragma once
// Reading a Consul request body the way Consul's decoder does: keys match whatever their case,
// snake_case aliases match too ("deregister_critical_service_after"), and null is the same as
// absent (the Go client sends "Check":null). Threading: pure functions.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <string>
#include <string_view>

namespace muster::checks {

// A key without case and underscores: what two spellings of one field have in common.
inline std::string folded_key(std::string_view key) {
  std::string out;
  for (char c : key)
    if (c != '_') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

// The field `name` of `o`, or null when it is absent or null.
inline const boost::json::value* field(const boost::json::object& o, std::string_view name) {
  const std::string want = folded_key(name);
  for (const auto& [k, v] : o)
    if (folded_key(k) == want) return v.is_null() ? nullptr : &v;
  return nullptr;
}

// What is wrong with a body, as the 400 text; thrown by the readers below.
struct Invalid {
  std::string message;
};

// The string field `name`, "" when absent; throws Invalid when it is not a string.
inline std::string text_field(const boost::json::object& o, std::string_view name) {
  const boost::json::value* v = field(o, name);
  if (v == nullptr) return "";
  if (!v->is_string())
    throw Invalid{"Request decode failed: " + std::string(name) + " must be a string"};
  return std::string(v->get_string());
}

}  // namespace muster::checks
