#pragma once
// 64-bit hashes that every process and every build computes alike (std::hash promises neither):
// FNV-1a steps and splitmix64's finaliser, which spreads neighbouring inputs apart. Anti-entropy
// digests, Maglev tables and check ownership are built from them, so their results must not change
// between versions. Header-only, so that libmuster shares it. Threading: pure functions.
#include <cstdint>
#include <string_view>

namespace muster {

inline constexpr uint64_t kFnvOffset = 1469598103934665603ull;

// Feeds `s` into the FNV-1a state `h`.
inline uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// splitmix64's finaliser.
inline uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace muster
