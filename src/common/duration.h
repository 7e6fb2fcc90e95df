#pragma once
// Durations written the way operators write them: "30s", "500ms", "1m30s", "2h", "0".
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace muster {

// Parses a Go-style duration (units ns, us, ms, s, m, h; several may follow each other).
// Returns nullopt on anything else, including negative values and overflow.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

// Formats a duration in the largest unit that is exact: 90s -> "90s", 500ms -> "500ms".
std::string format_duration(std::chrono::nanoseconds d);

}  // namespace muster
