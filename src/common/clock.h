#pragma once
// Time sources. The registry takes a Clock so that leases, eviction and the guard are tested
// without sleeping. Threading: every method may be called from any thread.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace muster {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix time in nanoseconds: what timestamps on the wire carry. May step.
  virtual int64_t wall_ns() const = 0;
  // Monotonic nanoseconds: what lease ages are measured in, so a wall step never evicts.
  virtual int64_t mono_ns() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t wall_ns() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t mono_ns() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to: advance() moves both clocks, step_wall() only the wall.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t wall_start_ns = 1'600'000'000'000'000'000,
                     int64_t mono_start_ns = 1'000'000'000)
      : wall_(wall_start_ns), mono_(mono_start_ns) {}
  int64_t wall_ns() const override { return wall_.load(); }
  int64_t mono_ns() const override { return mono_.load(); }
  void advance(std::chrono::nanoseconds d) {
    wall_ += d.count();
    mono_ += d.count();
  }
  void step_wall(std::chrono::nanoseconds d) { wall_ += d.count(); }

 private:
  std::atomic<int64_t> wall_;
  std::atomic<int64_t> mono_;
};

}  // namespace muster
