#include "api/render.h"

#include <cstdlib>

#include "checks/check.h"
#include "common/json_writer.h"

namespace muster::api {

using registry::App;
using registry::Instance;
using registry::Zone;

namespace {

// The renew time to render: the stored one unless the wall clock stepped (by more than a
// millisecond) since the renew; then the one the monotonic clock gives (see render.h). So the
// field stays the same from answer to answer while the clock runs evenly.
int64_t renew_timestamp(const Instance& inst, int64_t wall_offset) {
  if (wall_offset == 0 || !inst.lease) return inst.renew_timestamp;
  const int64_t by_mono = inst.renew_mono + wall_offset;
  constexpr int64_t kMillisecond = 1'000'000;
  return std::abs(by_mono - inst.renew_timestamp) < kMillisecond ? inst.renew_timestamp : by_mono;
}

}  // namespace

void append_instance(std::string& out, const Instance& inst, int64_t wall_offset, Reader reader) {
  const Zone& zone = *inst.zone;
  const App& app = *zone.app;
  out += "{\"region\":";
  json::append_string(out, inst.region);
  out += ",\"zone\":";
  json::append_string(out, zone.name);
  out += ",\"env\":";
  json::append_string(out, app.env);
  out += ",\"appid\":";
  json::append_string(out, app.appid);
  out += ",\"hostname\":";
  json::append_string(out, *inst.hostname);
  out += ",\"addrs\":[";
  bool first = true;
  for (std::string_view a : inst.addrs) {
    if (!first) out.push_back(',');
    first = false;
    json::append_string(out, a);
  }
  out += "],\"version\":";
  json::append_string(out, inst.version);
  out += ",\"metadata\":{";
  first = true;
  for (const auto [k, v] : inst.metadata.pairs()) {
    if (!first) out.push_back(',');
    first = false;
    json::append_string(out, k);
    out.push_back(':');
    if (reader == Reader::kClient && k == checks::kChecksKey)
      json::append_string(out, checks::checks_for_readers(v));
    else
      json::append_string(out, v);
  }
  out += "},\"status\":";
  json::append_int(out, inst.status);
  out += ",\"reg_timestamp\":";
  json::append_int(out, inst.reg_timestamp);
  out += ",\"up_timestamp\":";
  json::append_int(out, inst.up_timestamp);
  out += ",\"renew_timestamp\":";
  json::append_int(out, renew_timestamp(inst, wall_offset));
  out += ",\"dirty_timestamp\":";
  json::append_int(out, inst.dirty_timestamp);
  out += ",\"latest_timestamp\":";
  json::append_int(out, inst.latest_timestamp);
  // muster's own field, only on instances without heartbeat (docs/api.md): a peer's syncup and
  // anti-entropy keep them so; Bilibili's clients ignore a field they do not know.
  if (!inst.lease) out += ",\"lease\":false";
  out.push_back('}');
}

namespace {

// Appends the matching instances of one zone to a comma-separated list; `first` says whether the
// list is still empty, and the result says whether it still is.
bool append_zone_list(std::string& out, const Zone& zone, int status_mask, bool first,
                      int64_t wall_offset = 0, Reader reader = Reader::kClient) {
  for (const auto& [host, inst] : zone.instances) {
    if ((inst.status & status_mask) == 0) continue;
    if (!first) out.push_back(',');
    first = false;
    append_instance(out, inst, wall_offset, reader);
  }
  return first;
}

void append_zone_map(std::string& out, const App& app, std::string_view zone, int status_mask,
                     int64_t wall_offset = 0, Reader reader = Reader::kClient) {
  out.push_back('{');
  bool first_zone = true;
  for (const auto& [name, z] : app.zones) {
    if (!zone.empty() && name != zone) continue;
    if (!first_zone) out.push_back(',');
    first_zone = false;
    json::append_string(out, name);
    out += ":[";
    append_zone_list(out, z, status_mask, true, wall_offset, reader);
    out.push_back(']');
  }
  out.push_back('}');
}

}  // namespace

void append_instance_info(std::string& out, const App& app, std::string_view zone, int status_mask,
                          int64_t wall_offset, Reader reader) {
  out += "{\"instances\":";
  append_zone_map(out, app, zone, status_mask, wall_offset, reader);
  out += ",\"latest_timestamp\":";
  json::append_int(out, app.latest_timestamp);
  out.push_back('}');
}

void append_instance_info_flat(std::string& out, const App& app, std::string_view zone,
                               int status_mask) {
  out += "{\"instances\":[";
  bool first = true;
  for (const auto& [name, z] : app.zones) {
    if (!zone.empty() && name != zone) continue;
    first = append_zone_list(out, z, status_mask, first);
  }
  out += "],\"zone_instances\":";
  append_zone_map(out, app, zone, status_mask);
  out += ",\"latest_timestamp\":";
  json::append_int(out, app.latest_timestamp);
  out.push_back('}');
}

std::string UpInstancesRenderer::render(const App& app, std::string_view zone) const {
  std::string out;
  append_instance_info(out, app, zone, registry::kStatusUp);
  return out;
}

}  // namespace muster::api
