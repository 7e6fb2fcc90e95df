#include "common/metrics.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/metric_list.h"

namespace muster::metrics {

void LatencyHistogram::observe_ns(int64_t ns) {
  const double seconds = static_cast<double>(ns) / 1e9;
  const auto it = std::lower_bound(kBounds.begin(), kBounds.end(), seconds);
  buckets_[static_cast<size_t>(it - kBounds.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(ns, 0)), std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::snapshot() const {
  Snapshot s;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    s.count += s.buckets[i];
  }
  s.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

namespace {

void append_labels(std::string& out, const TextWriter::Labels& labels) {
  if (labels.empty()) return;
  out.push_back('{');
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out.push_back(',');
    first = false;
    out.append(k);
    out += "=\"";
    for (char c : v) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '"')
        out += "\\\"";
      else if (c == '\n')
        out += "\\n";
      else
        out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
}

}  // namespace

void TextWriter::family(std::string_view name) {
  const MetricInfo* info = find_metric(name);
  const std::string_view help = info ? info->help : "(not in common/metric_list.cpp)";
  const std::string_view type = info ? info->type : "untyped";
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void TextWriter::sample(std::string_view name, const Labels& labels, double value) {
  out_.append(name);
  append_labels(out_, labels);
  fmt::format_to(std::back_inserter(out_), " {}\n", value);
}

void TextWriter::histogram(std::string_view name, const Labels& labels,
                           const LatencyHistogram::Snapshot& s) {
  uint64_t cumulative = 0;
  const std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i < s.buckets.size(); ++i) {
    cumulative += s.buckets[i];
    Labels with_le = labels;
    const std::string le = i < LatencyHistogram::kBounds.size()
                               ? fmt::format("{}", LatencyHistogram::kBounds[i])
                               : "+Inf";
    with_le.emplace_back("le", le);
    sample(bucket, with_le, static_cast<double>(cumulative));
  }
  sample(std::string(name) + "_sum", labels, s.sum_seconds);
  sample(std::string(name) + "_count", labels, static_cast<double>(s.count));
}

}  // namespace muster::metrics
