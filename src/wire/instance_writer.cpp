#include "wire/instance_writer.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>

#include "common/json_writer.h"

namespace muster::wire {

using registry::App;
using registry::Instance;
using registry::Zone;

std::string checks_for_readers(std::string_view checks_json) {
  if (checks_json.find("\"Header\"") == std::string_view::npos &&
      checks_json.find("\"Body\"") == std::string_view::npos)
    return std::string(checks_json);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(checks_json, ec);
  if (ec || !v.is_array()) return "[]";
  for (boost::json::value& c : v.get_array()) {
    if (!c.is_object()) continue;
    c.get_object().erase("Header");
    c.get_object().erase("Body");
  }
  return boost::json::serialize(v);
}

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
    if (reader == Reader::kClient && k == kChecksKey)
      json::append_string(out, checks_for_readers(v));
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

}  // namespace muster::wire
