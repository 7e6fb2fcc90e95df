#pragma once
// Parsing another node's JSON answer even where a string is not valid UTF-8 (an older node, or
// one of another make, may hold such an instance): readers then check each record and skip what
// they cannot use, rather than lose the whole answer (issue 15.1). Header-only, so that libmuster
// and the cluster share it.
// Threading: pure function.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <string_view>

namespace muster {

// The parsed document, or a null value when `body` is not JSON.
inline boost::json::value parse_lenient_json(std::string_view body) {
  boost::json::parse_options options;
  options.allow_invalid_utf8 = true;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec, {}, options);
  if (ec) return nullptr;
  return v;
}

}  // namespace muster
