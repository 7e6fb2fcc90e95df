#pragma once
// The limits every field of the native API is held to (issue 15.2), so that one client cannot
// make the registry, its answers and every reader of them grow without bound. Documented in
// docs/api.md ("Limits"); a request over one is answered -400 naming the field and the limit, and
// a peer's copy over one (syncup, anti-entropy) is skipped and counted (InstanceRecord).
// Threading: constants.
#include <cstddef>

namespace muster::wire::limits {

inline constexpr size_t kZone = 64;  // zone, env, region: short names in every deployment
inline constexpr size_t kAppid = 256;
inline constexpr size_t kHostname = 256;
inline constexpr size_t kVersion = 256;
inline constexpr size_t kAddrs = 32;  // addresses per instance
inline constexpr size_t kAddr = 512;  // bytes per address
inline constexpr size_t kMetadataKeys = 64;
inline constexpr size_t kMetadataKey = 128;
inline constexpr size_t kMetadataBytes = 8192;  // keys and values together
inline constexpr size_t kSetHostnames = 1000;   // hostnames in one set

}  // namespace muster::wire::limits
