#include "api/consul_render.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cctype>
#include <charconv>

#include "checks/check.h"
#include "common/ascii_case.h"
#include "common/duration.h"
#include "common/endpoint.h"
#include "common/json_writer.h"

namespace muster::api::consul {

namespace {

// "scheme://host:port/..." -> host and port; {"", 0} without both.
HostPort split(std::string_view addr) {
  const auto e = parse_url(addr);
  if (!e) return {};
  return {e->host, e->port, true};
}

void key(std::string& out, std::string_view name) {
  json::append_string(out, name);
  out.push_back(':');
}

void text(std::string& out, std::string_view name, std::string_view value) {
  key(out, name);
  json::append_string(out, value);
  out.push_back(',');
}

void number(std::string& out, std::string_view name, int64_t value) {
  key(out, name);
  json::append_int(out, value);
  out.push_back(',');
}

// Closes an object whose last member left a trailing comma.
void close(std::string& out, char c) {
  if (out.back() == ',') out.pop_back();
  out.push_back(c);
}

// Service.Meta: the metadata but muster's own "consul-" keys (the tags).
void metadata(std::string& out, const registry::Instance& inst) {
  out.push_back('{');
  for (const auto [k, v] : inst.metadata.pairs()) {
    if (k.starts_with("consul-")) continue;
    key(out, k);
    json::append_string(out, v);
    out.push_back(',');
  }
  close(out, '}');
}

void tags(std::string& out, std::string_view name, const registry::Instance& inst) {
  key(out, name);
  out.push_back('[');
  for (const std::string& t : tags_of(inst)) {
    json::append_string(out, t);
    out.push_back(',');
  }
  close(out, ']');
  out.push_back(',');
}

// The node's members, each followed by a comma: the instance is its own node (its hostname), at
// the host of its address, with region and zone as node metadata under `meta_key`.
void node_fields(std::string& out, const registry::Instance& inst, std::string_view zone,
                 const HostPort& hp, std::string_view meta_key) {
  text(out, "ID", "");
  text(out, "Node", *inst.hostname);
  text(out, "Address", hp.host);
  text(out, "Datacenter", zone);
  out += "\"TaggedAddresses\":{";
  text(out, "lan", hp.host);
  text(out, "wan", hp.host);
  close(out, '}');
  out.push_back(',');
  key(out, meta_key);
  out += "{";
  text(out, "region", inst.region);
  text(out, "zone", zone);
  close(out, '}');
  out.push_back(',');
}

// The fields every check has after its status and output.
void check_tail(std::string& out, const registry::App& app, const registry::Instance& inst,
                std::string_view type, std::string_view interval, std::string_view timeout,
                uint64_t index) {
  text(out, "ServiceID", *inst.hostname);
  text(out, "ServiceName", app.appid);
  tags(out, "ServiceTags", inst);
  text(out, "Type", type);
  text(out, "Interval", interval);
  text(out, "Timeout", timeout);
  number(out, "ExposedPort", 0);
  out += "\"Definition\":{},";  // never "" durations: the Go client fails on them
  number(out, "CreateIndex", static_cast<int64_t>(index));
  number(out, "ModifyIndex", static_cast<int64_t>(index));
  close(out, '}');
}

// The check that shows a native status: 1 a passing "muster:status", 2 a critical
// "_service_maintenance:<hostname>".
void append_status_check(std::string& out, const registry::App& app, const registry::Instance& inst,
                         uint64_t index) {
  const bool up = inst.status == registry::kStatusUp;
  out.push_back('{');
  text(out, "Node", *inst.hostname);
  text(out, "CheckID", up ? "muster:status" : "_service_maintenance:" + *inst.hostname);
  text(out, "Name", up ? "muster status" : "Service Maintenance Mode");
  text(out, "Status", up ? "passing" : "critical");
  text(out, "Notes", "");
  text(out, "Output", up ? "status 1 (up)" : "status 2 (down)");
  check_tail(out, app, inst, "", "", "", index);
}

std::string duration_or_empty(std::chrono::nanoseconds d) {
  return d.count() > 0 ? format_duration(d) : "";
}

}  // namespace

void append_check(std::string& out, const registry::App& app, const registry::Instance& inst,
                  const checks::Check& c, uint64_t index) {
  out.push_back('{');
  text(out, "Node", *inst.hostname);
  text(out, "CheckID", c.id);
  text(out, "Name", c.name);
  text(out, "Status", checks::status_name(c.status));
  text(out, "Notes", c.notes);
  text(out, "Output", c.output);
  check_tail(out, app, inst, checks::type_name(c.type), duration_or_empty(c.interval),
             duration_or_empty(c.timeout), index);
}

void append_checks(std::string& out, const registry::App& app, const registry::Instance& inst,
                   const std::vector<checks::Check>& list, uint64_t index) {
  for (const checks::Check& c : list) {
    if (&c != &list.front()) out.push_back(',');
    append_check(out, app, inst, c, index);
  }
  // A native status or a status set down by hand, which the checks do not already say.
  if (list.empty() || (inst.status != registry::kStatusUp &&
                       checks::aggregate(list) != checks::Status::kCritical)) {
    if (!list.empty()) out.push_back(',');
    append_status_check(out, app, inst, index);
  }
}

bool passing(const registry::Instance& inst, const std::vector<checks::Check>& list) {
  return inst.status == registry::kStatusUp && checks::aggregate(list) == checks::Status::kPassing;
}

std::vector<std::string> tags_of(const registry::Instance& inst) {
  std::vector<std::string> out;
  for (const auto [k, v] : inst.metadata.pairs()) {
    if (k != kTagsKey) continue;
    boost::system::error_code ec;
    const boost::json::value parsed = boost::json::parse(v, ec);
    if (ec || !parsed.is_array()) break;
    for (const auto& t : parsed.get_array())
      if (t.is_string()) out.emplace_back(t.get_string());
    break;
  }
  return out;
}

std::string tags_value(const std::vector<std::string>& tags) {
  std::string out = "[";
  for (const std::string& t : tags) {
    if (out.size() > 1) out.push_back(',');
    json::append_string(out, t);
  }
  out.push_back(']');
  return out;
}

HostPort service_address(const registry::Instance& inst) {
  HostPort first;
  for (std::string_view a : inst.addrs) {
    HostPort hp = split(a);
    if (!hp.found) continue;
    if (a.starts_with("http://")) return hp;
    if (!first.found) first = std::move(hp);
  }
  return first;
}

std::optional<EntryView> matches(const EntryFilter& f, std::string_view zone,
                                 const registry::Instance& inst) {
  if (!f.zone.empty() && f.zone != zone) return std::nullopt;
  EntryView view{service_address(inst), {}};
  if (!view.address.found) return std::nullopt;  // Consul clients need an address
  if (!f.tags.empty()) {
    const auto have = tags_of(inst);
    for (const std::string& want : f.tags) {
      if (std::none_of(have.begin(), have.end(),
                       [&](const std::string& t) { return equal_without_case(t, want); }))
        return std::nullopt;
    }
  }
  for (const auto& [k, v] : f.node_meta) {
    if (k == "region" && v == inst.region) continue;
    if (k == "zone" && v == zone) continue;
    return std::nullopt;
  }
  // Last: the checks are JSON in the instance's metadata, the dearest part to read.
  if (f.show_checks || f.passing) view.checks = checks::checks_of(inst);
  if (f.passing && !passing(inst, view.checks)) return std::nullopt;
  return view;
}

void append_node(std::string& out, std::string_view zone, const registry::Instance& inst,
                 const HostPort& address, uint64_t index) {
  out.push_back('{');
  node_fields(out, inst, zone, address, "Meta");
  number(out, "CreateIndex", static_cast<int64_t>(index));
  number(out, "ModifyIndex", static_cast<int64_t>(index));
  close(out, '}');
}

void append_health_entry(std::string& out, const registry::App& app, std::string_view zone,
                         const registry::Instance& inst, const EntryView& view, uint64_t index) {
  const HostPort& hp = view.address;
  const auto idx = static_cast<int64_t>(index);
  out += "{\"Node\":";
  append_node(out, zone, inst, hp, index);
  out += ",\"Service\":{";
  text(out, "ID", *inst.hostname);
  text(out, "Service", app.appid);
  tags(out, "Tags", inst);
  text(out, "Address", hp.host);
  out += "\"Meta\":";
  metadata(out, inst);
  out.push_back(',');
  number(out, "Port", hp.port);
  out += "\"Weights\":{\"Passing\":1,\"Warning\":1},\"EnableTagOverride\":false,";
  out += "\"Proxy\":{\"Mode\":\"\",\"MeshGateway\":{},\"Expose\":{}},\"Connect\":{},";
  text(out, "PeerName", "");
  text(out, "Namespace", app.env);
  number(out, "CreateIndex", idx);
  number(out, "ModifyIndex", idx);
  close(out, '}');
  out += ",\"Checks\":[";
  append_checks(out, app, inst, view.checks, index);
  out += "]}";
}

void append_agent_service(std::string& out, const registry::App& app, std::string_view zone,
                          const registry::Instance& inst) {
  const HostPort hp = service_address(inst);
  out.push_back('{');
  text(out, "ID", *inst.hostname);
  text(out, "Service", app.appid);
  tags(out, "Tags", inst);
  out += "\"Meta\":";
  metadata(out, inst);
  out.push_back(',');
  number(out, "Port", hp.port);
  text(out, "Address", hp.host);
  out += "\"Weights\":{\"Passing\":1,\"Warning\":1},\"EnableTagOverride\":false,";
  text(out, "Datacenter", zone);
  close(out, '}');
}

void append_catalog_entry(std::string& out, const registry::App& app, std::string_view zone,
                          const registry::Instance& inst, const HostPort& hp, uint64_t index) {
  const auto idx = static_cast<int64_t>(index);
  out.push_back('{');
  node_fields(out, inst, zone, hp, "NodeMeta");
  text(out, "ServiceKind", "");
  text(out, "ServiceID", *inst.hostname);
  text(out, "ServiceName", app.appid);
  tags(out, "ServiceTags", inst);
  text(out, "ServiceAddress", hp.host);
  out += "\"ServiceWeights\":{\"Passing\":1,\"Warning\":1},\"ServiceMeta\":";
  metadata(out, inst);
  out.push_back(',');
  number(out, "ServicePort", hp.port);
  text(out, "ServiceSocketPath", "");
  out += "\"ServiceEnableTagOverride\":false,";
  out += "\"ServiceProxy\":{\"Mode\":\"\",\"MeshGateway\":{},\"Expose\":{}},\"ServiceConnect\":{},";
  number(out, "CreateIndex", idx);
  number(out, "ModifyIndex", idx);
  close(out, '}');
}

}  // namespace muster::api::consul
