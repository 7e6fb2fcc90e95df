#pragma once
// The discovery API's form bodies and queries (application/x-www-form-urlencoded), built one way
// for every sender: libmuster's registrar and one-off calls, the CLI, and a node replicating a
// write to its peers (docs/decisions.md §6.3).
// Threading: pure functions; a MetadataJson is used by one thread.
#include <cstdint>
#include <string>
#include <string_view>

namespace muster::wire {

// Appends `key=value`, the value percent-encoded (everything but RFC 3986's unreserved
// characters), with '&' before it unless `out` is empty.
void append_field(std::string& out, std::string_view key, std::string_view value);
void append_field(std::string& out, std::string_view key, int64_t value);

// The metadata field of register and set: one JSON object of string values.
class MetadataJson {
 public:
  // From any range of (key, value) pairs: a std::map, the registry's sorted vector.
  template <class Pairs>
  static MetadataJson of(const Pairs& pairs) {
    MetadataJson m;
    for (const auto& [k, v] : pairs)
      m.add(k, v);
    return m;
  }
  void add(std::string_view key, std::string_view value);
  bool empty() const { return text_.empty(); }
  std::string text() const;  // {"key":"value",...}; {} when empty

 private:
  std::string text_;  // the members so far, without braces
};

// Who an instance is, as every write names it: zone, env, appid, hostname (region is sent by
// the writes that carry it: register, and a node's replication).
struct InstanceId {
  std::string_view zone, env, appid, hostname;
};
void append_identity(std::string& out, const InstanceId& id);

// What a register says about the instance besides who it is: each address as its own `addrs`
// field (never one comma-joined value, which Bilibili's server would read as one address),
// status, version, and metadata when there is any.
template <class Addrs>
void append_registration(std::string& out, const Addrs& addrs, int status, std::string_view version,
                         const MetadataJson& metadata) {
  for (std::string_view a : addrs)
    append_field(out, "addrs", a);
  append_field(out, "status", status);
  append_field(out, "version", version);
  if (!metadata.empty()) append_field(out, "metadata", metadata.text());
}

}  // namespace muster::wire
