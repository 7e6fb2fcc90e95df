#include "checks/check.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <cctype>

#include "checks/consul_decode.h"
#include "common/duration.h"
#include "common/utf8.h"

namespace muster::checks {

namespace json = boost::json;

std::string_view type_name(Type type) {
  switch (type) {
    case Type::kHttp:
      return "http";
    case Type::kTcp:
      return "tcp";
    case Type::kTtl:
      break;
  }
  return "ttl";
}

std::string_view status_name(Status status) {
  switch (status) {
    case Status::kPassing:
      return "passing";
    case Status::kWarning:
      return "warning";
    case Status::kCritical:
      break;
  }
  return "critical";
}

std::optional<Status> parse_status(std::string_view text) {
  if (text == "passing") return Status::kPassing;
  if (text == "warning") return Status::kWarning;
  if (text == "critical") return Status::kCritical;
  return std::nullopt;
}

namespace {

// A Go duration string ("10s", "1m30s") or a number of nanoseconds; throws Invalid otherwise.
std::chrono::nanoseconds duration_field(const json::object& o, std::string_view name) {
  const json::value* v = field(o, name);
  if (v == nullptr) return std::chrono::nanoseconds(0);
  if (v->is_int64() && v->get_int64() >= 0) return std::chrono::nanoseconds(v->get_int64());
  if (v->is_string()) {
    const std::string_view s = v->get_string();
    if (s.empty()) return std::chrono::nanoseconds(0);
    if (auto d = parse_duration(s)) return *d;
  }
  throw Invalid{"Request decode failed: " + std::string(name) + " must be a duration"};
}

std::vector<std::pair<std::string, std::vector<std::string>>> header_field(const json::object& o) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  const json::value* v = field(o, "Header");
  if (v == nullptr) return out;
  if (!v->is_object()) throw Invalid{"Request decode failed: Header must be an object"};
  for (const auto& [name, values] : v->get_object()) {
    if (!values.is_array())
      throw Invalid{"Request decode failed: Header values must be lists of strings"};
    std::vector<std::string> list;
    for (const auto& x : values.get_array()) {
      if (!x.is_string())
        throw Invalid{"Request decode failed: Header values must be lists of strings"};
      list.emplace_back(x.get_string());
    }
    out.emplace_back(std::string(name), std::move(list));
  }
  return out;
}

bool is_tchar(unsigned char c) {
  return std::isalnum(c) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool has_control(std::string_view text, bool tab_allowed) {
  return std::any_of(text.begin(), text.end(), [&](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && !(tab_allowed && c == '\t')) || c == 0x7f;
  });
}

// The checks muster cannot run, by the field that asks for them.
constexpr std::string_view kUnsupported[] = {
    "Args", "ScriptArgs", "Script",    "GRPC",         "H2PING",
    "UDP",  "OSService",  "AliasNode", "AliasService", "DockerContainerID"};

Check parse_check(const json::value& value) {
  if (!value.is_object()) throw Invalid{"Request decode failed: a check must be an object"};
  const json::object& o = value.get_object();
  for (std::string_view name : kUnsupported)
    if (field(o, name) != nullptr)
      throw Invalid{"Invalid check: muster runs TTL, HTTP and TCP checks only, not " +
                    std::string(name)};
  Check c;
  c.id = text_field(o, "CheckID");
  if (c.id.empty()) c.id = text_field(o, "ID");
  c.name = text_field(o, "Name");
  c.notes = text_field(o, "Notes");
  c.ttl = duration_field(o, "TTL");
  c.http = text_field(o, "HTTP");
  c.tcp = text_field(o, "TCP");
  c.method = text_field(o, "Method");
  c.body = text_field(o, "Body");
  c.header = header_field(o);
  c.interval = duration_field(o, "Interval");
  c.timeout = duration_field(o, "Timeout");
  c.deregister_after = duration_field(o, "DeregisterCriticalServiceAfter");
  const bool probed = !c.http.empty() || !c.tcp.empty();
  if (c.interval.count() > 0 && c.ttl.count() > 0)
    throw Invalid{"Invalid check: Interval and TTL cannot both be specified"};
  if (probed && c.interval.count() <= 0)
    throw Invalid{
        "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService "
        "checks"};
  if (!probed && c.ttl.count() <= 0) throw Invalid{"Invalid check: TTL must be > 0 for TTL checks"};
  if (!c.http.empty() && !c.tcp.empty())
    throw Invalid{"Invalid check: HTTP and TCP cannot both be specified"};
  if (!c.http.empty() && !c.http.starts_with("http://"))
    throw Invalid{"Invalid check: muster runs HTTP checks on http:// URLs only"};
  c.type = !c.http.empty() ? Type::kHttp : !c.tcp.empty() ? Type::kTcp : Type::kTtl;
  const std::string status = text_field(o, "Status");
  if (!status.empty()) {
    const auto s = parse_status(status);
    if (!s) throw Invalid{"Status for checks must 'passing', 'warning', 'critical'"};
    c.status = *s;
  }
  if (std::string problem = request_problem(c); !problem.empty()) throw Invalid{problem};
  return c;
}

}  // namespace

std::string request_problem(const Check& check) {
  static constexpr std::string_view kMethods[] = {"GET",    "HEAD",    "POST", "PUT",
                                                  "DELETE", "OPTIONS", "PATCH"};
  if (!check.method.empty() &&
      std::find(std::begin(kMethods), std::end(kMethods), check.method) == std::end(kMethods))
    return "Invalid check: Method must be one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH";
  size_t values = 0;
  for (const auto& [name, list] : check.header) {
    if (name.empty() || name.size() > 256 || !std::all_of(name.begin(), name.end(), [](char c) {
          return is_tchar(static_cast<unsigned char>(c));
        }))
      return "Invalid check: a Header name is not an HTTP token (letters, digits and "
             "!#$%&'*+-.^_`|~, at most 256)";
    for (const auto& v : list) {
      if (has_control(v, /*tab_allowed=*/true))
        return "Invalid check: Header " + name + " has a control character (CR, LF, NUL...)";
    }
    values += list.size();
  }
  if (values > 32) return "Invalid check: at most 32 Header values";
  if (check.type == Type::kHttp) {
    const auto url = boost::urls::parse_uri(check.http);
    if (!url || url->scheme() != "http" || url->host().empty())
      return "Invalid check: HTTP must be an http:// URL with a host";
  }
  if (check.type == Type::kTcp &&
      (has_control(check.tcp, false) || check.tcp.find(' ') != std::string::npos))
    return "Invalid check: TCP must be host:port";
  return "";
}

std::optional<AllowedRequests> parse_allowed_requests(std::string_view text) {
  if (text == "any") return AllowedRequests::kAny;
  if (text == "get") return AllowedRequests::kGetOnly;
  if (text == "none") return AllowedRequests::kNone;
  return std::nullopt;
}

std::string allowed_problem(const Check& check, AllowedRequests allowed) {
  if (check.type == Type::kTtl || allowed == AllowedRequests::kAny) return "";
  if (allowed == AllowedRequests::kNone)
    return "Invalid check: this node runs TTL checks only (--consul-check-requests=none)";
  if (check.type == Type::kHttp &&
      ((!check.method.empty() && check.method != "GET" && check.method != "HEAD") ||
       !check.body.empty()))
    return "Invalid check: this node sends only GET and HEAD checks without a Body "
           "(--consul-check-requests=get)";
  return "";
}

namespace {

// A duration as the store keeps it: Go's text, "" for none.
std::string duration_text(std::chrono::nanoseconds d) {
  return d.count() > 0 ? format_duration(d) : "";
}

std::chrono::nanoseconds stored_duration(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string() || v->get_string().empty()) return {};
  return parse_duration(v->get_string()).value_or(std::chrono::nanoseconds(0));
}

std::string stored_text(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : "";
}

int64_t stored_int(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

std::optional<Check> stored_check(const json::value& v) {
  if (!v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  Check c;
  c.id = stored_text(o, "CheckID");
  const auto status = parse_status(stored_text(o, "Status"));
  if (c.id.empty() || !status) return std::nullopt;
  c.status = *status;
  c.name = stored_text(o, "Name");
  c.notes = stored_text(o, "Notes");
  const std::string type = stored_text(o, "Type");
  c.type = type == "http" ? Type::kHttp : type == "tcp" ? Type::kTcp : Type::kTtl;
  c.ttl = stored_duration(o, "TTL");
  c.http = stored_text(o, "HTTP");
  c.method = stored_text(o, "Method");
  if (const json::value* h = o.if_contains("Header"); h != nullptr && h->is_object()) {
    for (const auto& [name, values] : h->get_object()) {
      std::vector<std::string> list;
      if (values.is_array())
        for (const auto& x : values.get_array())
          if (x.is_string()) list.emplace_back(x.get_string());
      c.header.emplace_back(std::string(name), std::move(list));
    }
  }
  c.body = stored_text(o, "Body");
  c.tcp = stored_text(o, "TCP");
  c.interval = stored_duration(o, "Interval");
  c.timeout = stored_duration(o, "Timeout");
  c.deregister_after = stored_duration(o, "DeregisterCriticalServiceAfter");
  c.output = stored_text(o, "Output");
  c.since_ms = stored_int(o, "Since");
  c.reset_ms = stored_int(o, "Reset");
  return c;
}

}  // namespace

std::variant<std::vector<Check>, std::string> parse_registration_checks(
    const json::value* check, const json::value* checks, std::string_view service_id,
    std::string_view service_name, int64_t now_ms) {
  std::vector<Check> out;
  try {
    if (check != nullptr) out.push_back(parse_check(*check));
    if (checks != nullptr) {
      if (!checks->is_array()) return std::string("Request decode failed: Checks must be a list");
      for (const auto& c : checks->get_array())
        out.push_back(parse_check(c));
    }
  } catch (const Invalid& e) {
    return e.message;
  }
  if (out.size() > kMaxChecks)
    return "Invalid check: at most " + std::to_string(kMaxChecks) + " checks per service";
  for (size_t i = 0; i < out.size(); ++i) {
    Check& c = out[i];
    if (c.id.empty()) {
      c.id = "service:" + std::string(service_id);
      if (out.size() > 1) c.id += ":" + std::to_string(i + 1);
    }
    if (c.name.empty()) c.name = "Service '" + std::string(service_name) + "' check";
    c.since_ms = now_ms;
    c.reset_ms = now_ms;
  }
  return out;
}

std::variant<Check, std::string> parse_check_definition(const json::value& value) {
  try {
    return parse_check(value);
  } catch (const Invalid& e) {
    return e.message;
  }
}

size_t reserved_bytes(const std::vector<Check>& list) {
  size_t bytes = kChecksKey.size() + check_list_json(list).size();
  for (const Check& c : list)
    bytes += kMaxOutput + 64 - std::min(c.output.size(), kMaxOutput + 64);
  return bytes;
}

void keep_state(const std::vector<Check>& before, std::vector<Check>& after) {
  for (Check& c : after) {
    const auto old =
        std::find_if(before.begin(), before.end(), [&c](const Check& b) { return b.id == c.id; });
    if (old == before.end()) continue;
    c.status = old->status;
    c.output = old->output;
    c.since_ms = old->since_ms;
    c.reset_ms = old->reset_ms;
  }
}

std::string check_list_json(const std::vector<Check>& list) {
  json::array out;
  for (const Check& c : list) {
    json::object o;
    o["CheckID"] = c.id;
    o["Name"] = c.name;
    if (!c.notes.empty()) o["Notes"] = c.notes;
    o["Type"] = type_name(c.type);
    if (c.ttl.count() > 0) o["TTL"] = duration_text(c.ttl);
    if (!c.http.empty()) o["HTTP"] = c.http;
    if (!c.method.empty()) o["Method"] = c.method;
    if (!c.header.empty()) {
      json::object h;
      for (const auto& [name, values] : c.header) {
        json::array a;
        for (const auto& v : values)
          a.emplace_back(v);
        h[name] = std::move(a);
      }
      o["Header"] = std::move(h);
    }
    if (!c.body.empty()) o["Body"] = c.body;
    if (!c.tcp.empty()) o["TCP"] = c.tcp;
    if (c.interval.count() > 0) o["Interval"] = duration_text(c.interval);
    if (c.timeout.count() > 0) o["Timeout"] = duration_text(c.timeout);
    if (c.deregister_after.count() > 0)
      o["DeregisterCriticalServiceAfter"] = duration_text(c.deregister_after);
    o["Status"] = status_name(c.status);
    o["Output"] = c.output;
    o["Since"] = c.since_ms;
    o["Reset"] = c.reset_ms;
    out.emplace_back(std::move(o));
  }
  return json::serialize(out);
}

std::vector<Check> read_check_list(std::string_view text, size_t* unreadable) {
  std::vector<Check> out;
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec || !doc.is_array()) {
    if (unreadable != nullptr) ++*unreadable;
    return out;
  }
  for (const auto& v : doc.get_array()) {
    if (auto c = stored_check(v)) {
      out.push_back(std::move(*c));
    } else if (unreadable != nullptr) {
      ++*unreadable;
    }
  }
  return out;
}

Status aggregate(const std::vector<Check>& list) {
  Status worst = Status::kPassing;
  for (const Check& c : list)
    worst = std::max(worst, c.status);
  return worst;
}

std::string clean_output(std::string_view text, size_t max) {
  std::string out;
  const std::string_view head = text.substr(0, std::min(text.size(), max));
  out.reserve(head.size() + 48);
  // Copies valid characters; each byte that starts no valid one becomes '?'.
  for (size_t i = 0; i < head.size();) {
    size_t n = 1;
    const auto c = static_cast<unsigned char>(head[i]);
    if (c >= 0xF0) {
      n = 4;
    } else if (c >= 0xE0) {
      n = 3;
    } else if (c >= 0xC0) {
      n = 2;
    }
    if (n > 1 && i + n <= head.size() && valid_utf8(head.substr(i, n))) {
      out.append(head.substr(i, n));
      i += n;
    } else if (n > 1 && i + n > head.size() && text.size() > max) {
      break;  // a character cut by the limit: dropped, not replaced
    } else {
      out.push_back(c < 0x80 ? static_cast<char>(c) : '?');
      ++i;
    }
  }
  if (text.size() > max)
    out +=
        " ... (captured " + std::to_string(max) + " of " + std::to_string(text.size()) + " bytes)";
  return out;
}

std::vector<Check> checks_of(const registry::Instance& inst) {
  for (const auto [k, v] : inst.metadata.pairs())
    if (k == kChecksKey) return read_check_list(v);
  return {};
}

int instance_status(const std::vector<Check>& list) {
  return aggregate(list) == Status::kCritical ? registry::kStatusDown : registry::kStatusUp;
}

bool update(Check& check, Status status, std::string_view output, int64_t now_ms) {
  std::string cleaned = clean_output(output);
  if (check.status == status && check.output == cleaned) return false;
  if (check.status != status) check.since_ms = now_ms;
  check.status = status;
  check.output = std::move(cleaned);
  return true;
}

}  // namespace muster::checks
