#pragma once
// Request parameters as one ordered multimap of decoded (key, value) pairs, bound from the query
// string, a form body or a JSON body by the rules of docs/decisions.md §1.
// Threading: a value type; parsing functions are pure.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace muster::http {

class Params {
 public:
  Params() { pairs_.reserve(8); }
  void add(std::string key, std::string value) {
    pairs_.emplace_back(std::move(key), std::move(value));
  }
  // The first value of `key`, or nullopt if the key is absent.
  std::optional<std::string_view> first(std::string_view key) const;
  // Every non-empty value of `key`, in order: how arrays travel (repeated keys).
  std::vector<std::string_view> all(std::string_view key) const;
  // Every value of `key` including empty ones, in order.
  std::vector<std::string_view> all_raw(std::string_view key) const;
  const std::vector<std::pair<std::string, std::string>>& pairs() const { return pairs_; }
  size_t size() const { return pairs_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// Appends the pairs of an application/x-www-form-urlencoded text (a query string or a form body):
// '&' separates pairs, the first '=' splits key from value, '+' is a space, %XX is decoded.
// Raw characters such as { } " : / , are accepted as they are (brpc posts unencoded bodies).
// Returns an error message for a malformed escape; `out` is then unspecified.
std::optional<std::string> parse_urlencoded(std::string_view text, Params& out);

// A path's part with its %XX escapes decoded ('+' stays '+'); nullopt for a malformed escape.
std::optional<std::string> percent_decode_path(std::string_view segment);

// Appends the members of a JSON object body (docs/decisions.md §1): scalars are one value each
// (numbers keep their literal text, booleans become "true"/"false"), arrays of scalars are repeated
// keys, null is absent. `metadata` may also be an object, or an array of objects and strings (set);
// an object is passed on as JSON text whose values are all strings (numbers keep their literal
// text, true stays "true", null becomes ""). Anything else is an error message.
std::optional<std::string> parse_json_object(std::string_view body, Params& out);

// Application/json, compared without case and ignoring parameters such as charset.
bool is_json_content_type(std::string_view content_type);

// `target` (a request's path and query) as the access log writes it: each `token` parameter's
// value (Consul clients send their token so: python-consul's ?token=) as `<hidden>`.
std::string redacted_target(std::string_view target);

}  // namespace muster::http
