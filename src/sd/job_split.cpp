#include "sd/job_split.h"

#include <array>
#include <cstdint>
#include <optional>

#include "sd/config.h"

namespace muster::sd {

namespace {

constexpr size_t kProblemsKept = 5;
constexpr std::string_view kParamPrefix = "__param_";

// A target's value of `name`: its own label, else its group's; null when neither has it.
std::optional<std::string_view> label_of(const LabelSet& target, const LabelSet& group,
                                         std::string_view name) {
  if (auto it = target.find(name); it != target.end()) return it->second;
  if (auto it = group.find(name); it != group.end()) return it->second;
  return std::nullopt;
}

std::string value_of(const LabelSet& target, const LabelSet& group, std::string_view name) {
  return std::string(label_of(target, group, name).value_or(""));
}

// The settings of one target, or why Prometheus would refuse them.
std::string target_settings(const LabelSet& target, const LabelSet& group, ScrapeSettings& out) {
  out.scheme = value_of(target, group, "__scheme__");
  out.metrics_path = value_of(target, group, "__metrics_path__");
  out.scrape_interval = value_of(target, group, "__scrape_interval__");
  out.scrape_timeout = value_of(target, group, "__scrape_timeout__");
  if (!out.scheme.empty() && out.scheme != "http" && out.scheme != "https")
    return "__scheme__ \"" + out.scheme + "\" is neither http nor https";
  if (!out.metrics_path.empty() && out.metrics_path[0] != '/')
    return "__metrics_path__ \"" + out.metrics_path + "\" does not start with /";
  std::optional<std::chrono::milliseconds> interval, timeout;
  if (!out.scrape_interval.empty()) {
    interval = parse_prometheus_duration(out.scrape_interval);
    if (!interval || interval->count() == 0)
      return "__scrape_interval__ \"" + out.scrape_interval + "\" is not a positive duration";
  }
  if (!out.scrape_timeout.empty()) {
    timeout = parse_prometheus_duration(out.scrape_timeout);
    if (!timeout || timeout->count() == 0)
      return "__scrape_timeout__ \"" + out.scrape_timeout + "\" is not a positive duration";
  }
  if (interval && timeout && *timeout > *interval)
    return "__scrape_timeout__ " + out.scrape_timeout + " is longer than __scrape_interval__ " +
           out.scrape_interval;
  out.params.clear();
  for (const LabelSet* labels : {&group, &target})
    for (const auto& [name, value] : *labels)
      if (name.starts_with(kParamPrefix))
        out.params[std::string(name.substr(kParamPrefix.size()))] = std::string(value);
  for (const auto& [name, value] : out.params)
    if (name.empty()) return "a label __param_ names no parameter";
  return {};
}

// What the targets of one job agree on so far.
struct Agreement {
  bool first = true;
  ScrapeSettings common;
  std::array<bool, 4> differ{};  // scheme, metrics_path, scrape_interval, scrape_timeout

  void add(const ScrapeSettings& s) {
    if (first) {
      first = false;
      common = s;
      return;
    }
    const std::array<const std::string*, 4> theirs{&s.scheme, &s.metrics_path, &s.scrape_interval,
                                                   &s.scrape_timeout};
    const std::array<std::string*, 4> ours{&common.scheme, &common.metrics_path,
                                           &common.scrape_interval, &common.scrape_timeout};
    for (size_t i = 0; i < ours.size(); ++i) {
      if (differ[i] || *ours[i] == *theirs[i]) continue;
      differ[i] = true;
      ours[i]->clear();
    }
    for (auto it = common.params.begin(); it != common.params.end();) {
      const auto other = s.params.find(it->first);
      if (other != s.params.end() && other->second == it->second) {
        ++it;
        continue;
      }
      it = common.params.erase(it);  // (a parameter once dropped never comes back)
    }
  }
};

}  // namespace

std::optional<std::chrono::milliseconds> parse_prometheus_duration(std::string_view text) {
  using std::chrono::milliseconds;
  if (text == "0") return milliseconds(0);
  if (text.empty()) return std::nullopt;
  struct Unit {
    std::string_view name;
    int64_t ms;
  };
  static constexpr std::array<Unit, 7> kUnits{{{"y", 365LL * 24 * 3600 * 1000},
                                               {"w", 7LL * 24 * 3600 * 1000},
                                               {"d", 24LL * 3600 * 1000},
                                               {"h", 3600LL * 1000},
                                               {"m", 60LL * 1000},
                                               {"s", 1000},
                                               {"ms", 1}}};
  int64_t total = 0;
  size_t next_unit = 0;  // units come largest first, each at most once
  size_t i = 0;
  while (i < text.size()) {
    const size_t digits_start = i;
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (INT64_MAX - 9) / 10) return std::nullopt;
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    if (i == digits_start) return std::nullopt;
    size_t unit_end = i;
    while (unit_end < text.size() && (text[unit_end] < '0' || text[unit_end] > '9'))
      ++unit_end;
    const std::string_view unit = text.substr(i, unit_end - i);
    size_t u = next_unit;
    while (u < kUnits.size() && kUnits[u].name != unit)
      ++u;
    if (u == kUnits.size()) return std::nullopt;
    if (n > INT64_MAX / kUnits[u].ms || total > INT64_MAX - n * kUnits[u].ms) return std::nullopt;
    total += n * kUnits[u].ms;
    next_unit = u + 1;
    i = unit_end;
  }
  // Prometheus holds a duration in int64 nanoseconds: past about 292 years it says "duration out
  // of range" and refuses the whole configuration (issue 27.9: `300y` was written through).
  if (total > INT64_MAX / 1'000'000) return std::nullopt;
  return milliseconds(total);
}

SplitJobs split_by_job(const SharedGroups& groups, const std::string& job_label, size_t max_jobs) {
  SplitJobs out;
  std::map<std::string, Agreement> agreement;
  auto skip = [&](const TargetGroup& g, const LabelSet& target, const std::string& why) {
    ++out.skipped;
    if (out.problems.size() >= kProblemsKept) return;
    const auto addr = target.find("__address__");
    out.problems.push_back("group " + g.source.str() + ": target " +
                           (addr == target.end() ? std::string("?") : std::string(addr->second)) +
                           ": " + why);
  };
  for (const auto& shared : groups) {
    const TargetGroup& g = *shared;
    // The piece of this group each job gets (a group's targets are usually all of one job).
    std::map<std::string, TargetGroup*> pieces;
    for (const auto& target : g.targets) {
      const auto label = label_of(target, g.labels, job_label);
      if (!label || label->empty()) {
        skip(g, target, "no label " + job_label);
        continue;
      }
      const std::string job(*label);
      if (!valid_job_name(job)) {
        skip(g, target,
             job_label + " \"" + job +
                 "\" is not a job name (letters, digits, '_', '.' or '-', at most 128)");
        continue;
      }
      if (out.jobs.size() >= max_jobs && !out.jobs.contains(job)) {
        skip(g, target, "job \"" + job + "\" is past max_jobs (" + std::to_string(max_jobs) + ")");
        continue;
      }
      ScrapeSettings settings;
      if (auto why = target_settings(target, g.labels, settings); !why.empty()) {
        skip(g, target, why);
        continue;
      }
      agreement[job].add(settings);
      TargetGroup*& piece = pieces[job];
      if (!piece) {
        Groups& of_job = out.jobs[job];
        of_job.push_back(TargetGroup{{}, g.labels, g.source});
        piece = &of_job.back();
      }
      piece->targets.push_back(target);
    }
  }
  for (auto& [job, a] : agreement)
    out.settings[job] = std::move(a.common);
  return out;
}

}  // namespace muster::sd
