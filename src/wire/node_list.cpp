#include "wire/node_list.h"

#include "common/endpoint.h"

namespace muster::wire {

std::vector<std::string_view> split_list(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t at = text.find(separator);
    std::string_view part = text.substr(0, at);
    while (!part.empty() && part.front() == ' ')
      part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ')
      part.remove_suffix(1);
    if (!part.empty()) out.push_back(part);
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return out;
}

bool valid_host_port(std::string_view text) {
  const auto e = parse_host_port(text);
  return e && e->port > 0;
}

}  // namespace muster::wire
