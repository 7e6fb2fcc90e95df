#pragma once
// Lock-free metric cells and a writer for the Prometheus text exposition format (version 0.0.4).
// Owners keep their cells where the events happen; /metrics reads them. Threading: every cell
// may be updated and read from any thread (relaxed atomics; a scrape sees a recent value).
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace muster::metrics {

class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Latency histogram with fixed buckets in seconds, from 100 us to 60 s.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 60};
  void observe_ns(int64_t ns);
  struct Snapshot {
    std::array<uint64_t, kBounds.size() + 1> buckets{};  // not cumulative; last is +Inf
    uint64_t count = 0;
    double sum_seconds = 0;
  };
  Snapshot snapshot() const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

// Builds the text format. Label values are escaped; names are the caller's constants.
class TextWriter {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;
  // The TYPE and HELP lines of `name`, from its row in common/metric_list.h. A name without a
  // row is written untyped with a HELP that says so (a test fails on it).
  void family(std::string_view name);
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, double value) { sample(name, {}, value); }
  void histogram(std::string_view name, const Labels& labels, const LatencyHistogram::Snapshot& s);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace muster::metrics
