#pragma once
// Every metric muster serve and muster sd expose, declared once: its name, type, labels and help.
// /metrics takes its TYPE and HELP lines from here (TextWriter::family), and docs/metrics.md is
// checked against it by a test, so neither can drift from the other. Adding a metric: a row here
// and in docs/metrics.md, then its samples where the events happen.
// Threading: constant data.
#include <span>
#include <string_view>

namespace muster::metrics {

struct MetricInfo {
  std::string_view component;  // "serve" or "sd"
  std::string_view name;
  std::string_view type;    // counter, gauge, histogram, summary
  std::string_view labels;  // comma-separated, sorted; "" for none (le is left out)
  std::string_view help;
};

std::span<const MetricInfo> metric_list();
// The row of `name`; null when it has none.
const MetricInfo* find_metric(std::string_view name);

}  // namespace muster::metrics
