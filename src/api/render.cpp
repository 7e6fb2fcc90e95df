#include "api/render.h"

#include "common/json_writer.h"

namespace muster::api {

using registry::App;
using registry::Zone;

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
