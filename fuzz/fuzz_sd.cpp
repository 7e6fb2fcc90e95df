// What muster sd reads from outside: target group documents (file_sd, http_sd, exec output) in
// JSON and YAML, and its configuration file; a job_discovery source's groups split into jobs, and a
// template of the Prometheus configuration it writes. None may crash or hang; a document that
// parses renders to one that parses again.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sd/config.h"
#include "sd/groups_json_reader.h"
#include "sd/job_split.h"
#include "sd/prometheus_config.h"
#include "sd/target_group.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = muster::sd::parse_groups_json(text);
  // Read in two pieces cut where the first byte says: the same answer as the whole text.
  {
    muster::sd::GroupsJsonReader reader;
    const size_t cut = size == 0 ? 0 : data[0] % (size + 1);
    reader.write(text.substr(0, cut));
    reader.write(text.substr(cut));
    auto pieces = reader.finish();
    if (pieces.index() != json.index()) std::abort();
    if (auto* groups = std::get_if<muster::sd::Groups>(&json))
      if (std::get<muster::sd::Groups>(pieces) != *groups) std::abort();
  }
  if (auto* groups = std::get_if<muster::sd::Groups>(&json)) {
    auto again = muster::sd::parse_groups_json(muster::sd::render_groups_json(*groups));
    if (!std::holds_alternative<muster::sd::Groups>(again)) std::abort();
    // The settings a source's targets carry become a configuration Prometheus can read back.
    const auto split = muster::sd::split_by_job(*groups, "job");
    muster::sd::PrometheusConfigOutput output;
    output.sd_url = "http://127.0.0.1:7272";
    auto rendered = muster::sd::render_prometheus_config("", split.settings, output, "/tmp");
    const auto* config = std::get_if<muster::sd::RenderedPrometheusConfig>(&rendered);
    if (!config) std::abort();
    if (muster::sd::jobs_written_in(config->text, output, "/tmp").size() + config->skipped.size() !=
        split.jobs.size())
      std::abort();
  }
  (void)muster::sd::render_prometheus_config(text, {}, {}, "/tmp");
  (void)muster::sd::jobs_written_in(text, {}, "/tmp");
  (void)muster::sd::parse_prometheus_duration(text);
  (void)muster::sd::parse_groups_yaml(text);
  (void)muster::sd::parse_sd_config(text, "fuzz.yml");
  return 0;
}
