// Fuzzes request binding: the query/form decoder, the JSON body binder, the metadata parser,
// every route's validation on top of them, and the Consul API's bodies (service and check
// registration, check update) and stored checks. Besides crashes and sanitizer reports it checks
// these properties: a metadata object that the JSON binder re-encodes parses back to the same
// pairs; an accepted registration makes one instance without heartbeat, named and with one
// address, whose checks have IDs, are safe to send (request_problem) and read back from their
// stored form unchanged; an accepted check registration names its check and service; a check's
// kept output is valid UTF-8; what readers see of stored checks holds no Header or Body.
#include <boost/json/parse.hpp>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/consul_agent.h"
#include "api/native_bind.h"
#include "checks/check.h"
#include "common/utf8.h"
#include "http/json_params.h"
#include "http/params.h"

namespace {

using namespace muster;

void bind_everything(const http::Params& params) {
  (void)api::bind_register(params);
  (void)api::bind_instance(params, true);
  (void)api::bind_instance(params, false);
  (void)api::bind_set(params);
  (void)api::bind_fetch(params, false);
  (void)api::bind_fetch(params, true);
  (void)api::bind_poll(params, false);
  (void)api::bind_poll(params, true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  static const api::NodeIdentity identity{"sh", "sh001", "dev", "node-1", "10.0.0.1:7171"};
  auto registered = api::consul::registration(text, identity, "dev", 1000);
  if (const auto* r = std::get_if<api::consul::Registration>(&registered)) {
    // What a registration makes always passes the limits the native binder enforces.
    const auto& args = r->args;
    if (args.appid.empty() || args.hostname.empty() || args.addrs.size() != 1 || args.lease)
      std::abort();
    // Its checks have IDs, send nothing that could smuggle a request (issue 27.7), and their
    // stored form reads back the same.
    for (const auto& c : r->checks) {
      if (c.id.empty() || !checks::request_problem(c).empty()) std::abort();
      // --consul-check-requests: what `get` lets through changes nothing at its target, and
      // `none` lets through only TTL checks.
      if (checks::allowed_problem(c, checks::AllowedRequests::kGetOnly).empty() &&
          c.type == checks::Type::kHttp &&
          (!c.body.empty() || (!c.method.empty() && c.method != "GET" && c.method != "HEAD")))
        std::abort();
      if (checks::allowed_problem(c, checks::AllowedRequests::kNone).empty() &&
          c.type != checks::Type::kTtl)
        std::abort();
    }
    if (checks::read_check_list(checks::check_list_json(r->checks)) != r->checks) std::abort();
  }
  auto check = api::consul::check_registration(text);
  if (const auto* c = std::get_if<api::consul::CheckRegistration>(&check)) {
    if (c->check.id.empty() || c->service_id.empty() || !checks::request_problem(c->check).empty())
      std::abort();
  }
  // What a reader who is not a peer sees of stored checks holds no check's Header or Body.
  const std::string seen = checks::checks_for_readers(text);
  if (seen != text) {
    const boost::json::value v = boost::json::parse(seen);  // throws (a crash) if not JSON
    for (const auto& c : v.as_array())
      if (c.is_object() && (c.as_object().contains("Header") || c.as_object().contains("Body")))
        std::abort();
  }
  (void)api::consul::check_update_body(text);
  // Stored checks are read leniently, and any output kept is valid UTF-8.
  (void)checks::read_check_list(text);
  if (!valid_utf8(checks::clean_output(text, 64))) std::abort();

  http::Params form;
  if (!http::parse_urlencoded(text, form)) bind_everything(form);

  http::Params json;
  if (!http::parse_json_object(text, json)) {
    bind_everything(json);
    for (std::string_view m : json.all_raw("metadata")) {
      // What the binder passes on for metadata is either the client's own string or its
      // re-encoding of an object; a re-encoding must always parse.
      if (!m.empty() && m.front() == '{') (void)http::parse_string_object(m);
    }
  }

  const auto direct = http::parse_string_object(text);
  if (const auto* pairs = std::get_if<http::StringPairs>(&direct)) {
    // Round trip: wrap the object as a body's metadata, bind it, parse the re-encoding.
    http::Params wrapped;
    std::string body = "{\"metadata\":";
    body.append(text);
    body.push_back('}');
    if (http::parse_json_object(body, wrapped)) std::abort();
    const auto again = http::parse_string_object(*wrapped.first("metadata"));
    const auto* again_pairs = std::get_if<http::StringPairs>(&again);
    if (again_pairs == nullptr || *again_pairs != *pairs) std::abort();
  }
  return 0;
}
