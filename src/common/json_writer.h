#pragma once
// Appends JSON text to a std::string. The hot paths (renew answers, poll answers) build their
// bytes directly with these helpers instead of building a boost::json::value first: one buffer,
// no intermediate tree. Threading: free functions, no shared state.
#include <cstdint>
#include <string>
#include <string_view>

namespace muster::json {

// Appends `s` as a quoted JSON string, escaping what RFC 8259 requires; bytes >= 0x80 pass
// through unchanged (UTF-8 stays UTF-8).
void append_string(std::string& out, std::string_view s);
void append_int(std::string& out, int64_t v);

}  // namespace muster::json
