#pragma once
// ASCII case folding for names that protocols compare without regard to case (HTTP header names,
// Consul's service names and tags). Threading: pure functions.
#include <algorithm>
#include <cctype>
#include <string_view>

namespace muster {

inline bool equal_without_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace muster
