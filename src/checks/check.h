#pragma once
// A Consul health check of an instance (issue 17; docs/api.md, "Health checks"): its definition
// as a registration gives it, and its state (status, output, since when). An instance's checks
// live in its metadata under kChecksKey, as the JSON array that check_list_json() writes, so that
// they replicate, persist and are compared by anti-entropy like every other part of the instance,
// with no new wire field. Consul reserves the "consul-" prefix of Meta keys, so no client key can
// collide with it. Threading: pure functions and values.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

#include "registry/types.h"
#include "wire/instance_writer.h"

namespace muster::checks {

using wire::kChecksKey;  // the instance metadata key that holds its checks

enum class Type { kTtl, kHttp, kTcp };
std::string_view type_name(Type type);  // "ttl", "http", "tcp"

// Consul's three check statuses, worst last.
enum class Status { kPassing, kWarning, kCritical };
std::string_view status_name(Status status);  // "passing", "warning", "critical"
std::optional<Status> parse_status(std::string_view text);

// The most output a check keeps: its head, then " ... (captured N of M bytes)". Consul keeps
// 4,096 bytes; the checks share the instance's 8 KiB of metadata here (docs/api.md).
inline constexpr size_t kMaxOutput = 512;
// What an instance's metadata may hold, keys and values together (the native API's limit, which
// peers apply to what is replicated to them).
inline constexpr size_t kMaxMetadataBytes = 8192;
// At most this many checks on one instance.
inline constexpr size_t kMaxChecks = 8;

struct Check {
  std::string id;
  std::string name;
  std::string notes;
  Type type = Type::kTtl;
  std::chrono::nanoseconds ttl{0};
  std::string http;  // URL
  std::string method;
  std::vector<std::pair<std::string, std::vector<std::string>>> header;
  std::string body;
  std::string tcp;  // host:port
  std::chrono::nanoseconds interval{0};
  std::chrono::nanoseconds timeout{0};
  std::chrono::nanoseconds deregister_after{0};  // DeregisterCriticalServiceAfter; 0 = never

  Status status = Status::kCritical;
  std::string output;
  int64_t since_ms = 0;  // wall time of the last status change (critical since, for reaping)
  // Wall time of the last write of its state: the TTL timer's start, and what holds back a probe's
  // output-only changes (written at most every 5 minutes, as Consul does).
  int64_t reset_ms = 0;
  bool operator==(const Check&) const = default;
};

// The checks of a registration body's "Check" and "Checks" (either may be null or absent), with
// Consul's IDs and names filled in (service:<id>, service:<id>:N; "Service '<name>' check") and
// starting `now_ms`; or the 400 text ("Invalid check: ...").
std::variant<std::vector<Check>, std::string> parse_registration_checks(
    const boost::json::value* check, const boost::json::value* checks, std::string_view service_id,
    std::string_view service_name, int64_t now_ms);

// One check of a /v1/agent/check/register body: its definition and Status, with its ID as given
// (CheckID or ID; empty when neither is); or the 400 text.
std::variant<Check, std::string> parse_check_definition(const boost::json::value& value);

// What makes a check's request unsafe to send, as a 400 text ("Invalid check: ..."), or "" (issue
// 27): a Method outside GET, HEAD, POST, PUT, DELETE, OPTIONS and PATCH (RFC 9110's list and
// RFC 5789, without CONNECT and TRACE), a Header name that is not an RFC 9110 token or a value
// with a control character (CR and LF would end the header and smuggle a request), more than
// 32 header values, an HTTP URL that is not a plain http:// URI with a host, a TCP address with
// spaces or control characters. Checked at registration and again before each probe (a check
// may come from a peer or an older data directory).
std::string request_problem(const Check& check);

// Which check requests a node sends (--consul-check-requests; docs/security.md, "Trust
// boundaries"): any the definition asks for, GET and HEAD without a body, or none (TTL checks
// only). A write token can otherwise make a node send any method and body to any address.
enum class AllowedRequests { kAny, kGetOnly, kNone };
std::optional<AllowedRequests> parse_allowed_requests(std::string_view text);  // any|get|none
// Why this node does not send `check`'s request under `allowed`, as a 400 text, or "". Checked
// at registration and before each probe (a check replicated from a node that allows more is
// written critical, "not run: ...", rather than sent).
std::string allowed_problem(const Check& check, AllowedRequests allowed);

// The metadata bytes `list` may take at most once every output is at its longest: what must fit
// in the instance's 8 KiB with its other metadata, so that no later result can overflow them.
size_t reserved_bytes(const std::vector<Check>& list);

// Carries the status, output and times of the checks in `before` with the same ID into `after`
// (Consul keeps a re-registered check's state).
void keep_state(const std::vector<Check>& before, std::vector<Check>& after);

// The metadata value that stores `list`, and back. Reading skips (and counts) an unreadable
// entry rather than losing the others.
std::string check_list_json(const std::vector<Check>& list);
using wire::checks_for_readers;  // the list as readers who are not peers see it
std::vector<Check> read_check_list(std::string_view json, size_t* unreadable = nullptr);

// Worst status of the list; passing for none.
Status aggregate(const std::vector<Check>& list);

// `text` cut to kMaxOutput bytes on a character boundary, with Consul's note of what was cut,
// and with bytes that are not UTF-8 replaced by '?' (an answer must stay valid JSON text).
std::string clean_output(std::string_view text, size_t max = kMaxOutput);

// The checks an instance carries (none for a native instance).
std::vector<Check> checks_of(const registry::Instance& instance);

// The instance status that a list of checks gives.
int instance_status(const std::vector<Check>& list);

// Sets a check's status and output at `now_ms`; false when nothing changed.
bool update(Check& check, Status status, std::string_view output, int64_t now_ms);

}  // namespace muster::checks
