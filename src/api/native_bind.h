#pragma once
// Binding and validation of the native API's parameters (docs/decisions.md §1, docs/api.md routes):
// from a request to the registry's argument structs, or a message saying what is wrong. Threading:
// pure functions.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "http/message.h"
#include "http/params.h"
#include "registry/registry.h"

namespace muster::api {

// The request's parameters: the query for GET; for POST the form or JSON body, then the query.
std::variant<http::Params, std::string> bind_params(const http::Request& request);

// Typed reads of one parameter that remember the first problem.
class Binder {
 public:
  explicit Binder(const http::Params& params) : params_(params) {}
  // A required string: missing or empty is "<key> is required".
  std::string required(std::string_view key);
  std::string optional(std::string_view key);
  int64_t integer(std::string_view key);  // missing or empty is 0
  bool boolean(std::string_view key);     // missing is false
  std::vector<std::string> list(std::string_view key) const;
  std::vector<int64_t> integer_list(std::string_view key);
  // Fails when `value` of `key` is longer than `max` bytes.
  void limit(std::string_view key, std::string_view value, size_t max);
  // Fails when there are more than `max` `what` (e.g. "addrs").
  void limit_count(std::string_view what, size_t n, size_t max);
  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  const http::Params& params_;
  std::string error_;
};

std::optional<int64_t> parse_int(std::string_view text);
std::optional<bool> parse_bool(std::string_view text);

// Metadata text (docs/decisions.md §1.3): "" is none; otherwise a JSON object of scalar values.
std::variant<registry::Metadata, std::string> parse_metadata(std::string_view text);

struct RegisterRequest {
  registry::RegisterArgs args;
  bool replication = false;
  bool from_zone = false;
};
std::variant<RegisterRequest, std::string> bind_register(const http::Params& params);

struct InstanceRequest {  // renew and cancel
  std::string zone, env, appid, hostname;
  bool replication = false;
  bool from_zone = false;
  int64_t dirty_timestamp = 0;
  // A cancel's: when it was made, as the original's peers send it (ours, when a peer sends it:
  // an instance changed after it is kept).
  int64_t latest_timestamp = 0;
  // A peer's renew: how long ago the instance was renewed where it comes from (renew_age).
  std::optional<int64_t> lease_age_ns;
  registry::InstanceKey key() const { return {zone, env, appid, hostname}; }
};
std::variant<InstanceRequest, std::string> bind_instance(const http::Params& params, bool renew);

struct SetRequest {
  registry::SetArgs args;
  bool replication = false;
  bool from_zone = false;
};
std::variant<SetRequest, std::string> bind_set(const http::Params& params);

struct FetchRequest {
  std::string env, zone;
  std::vector<std::string> appids;  // one for fetch; distinct, in order, for fetchs
  int status = 0;
};
std::variant<FetchRequest, std::string> bind_fetch(const http::Params& params, bool many);

// poll (single) considers only the first appid; polls needs one latest_timestamp per appid.
std::variant<registry::PollQuery, std::string> bind_poll(const http::Params& params, bool single);

}  // namespace muster::api
