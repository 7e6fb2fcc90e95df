#pragma once
// JSON binding helpers built on boost::json's SAX parser (basic_parser), which hands over each
// number's literal text, so that 1.50 stays "1.50" and big integers stay exact.
// Threading: pure functions.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace muster::http {

using StringPairs = std::vector<std::pair<std::string, std::string>>;

// Parses a JSON object whose values are strings, numbers, booleans or null into (key, value)
// pairs in document order: strings as they are, numbers and booleans as their literal text,
// null as "". Anything else (not an object, nested values, invalid JSON) is an error message.
std::variant<StringPairs, std::string> parse_string_object(std::string_view text);

}  // namespace muster::http
