#pragma once
// One poll or polls request while it waits (docs/decisions.md §4): the bridge between the
// registry's watch hub (PollWaiter) and the HTTP session that parks it (Deferred). Threading:
// wake() comes from any thread with the registry lock held; every other method runs on the
// session's thread. The answer is built by the registry at the change; the session only formats it,
// so a change that wakes 10,000 polls takes the registry lock once, not 10,000 times.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "api/render.h"
#include "http/message.h"
#include "registry/registry.h"

namespace muster::api {

// Builds the envelope of a poll (single) or polls answer.
http::Response poll_response(const registry::PollQuery& query, const registry::PollAnswer& answer);

class PollCall final : public http::Deferred, public registry::PollWaiter {
 public:
  PollCall(registry::Registry& registry, const UpInstancesRenderer& renderer,
           registry::PollQuery query, std::chrono::steady_clock::time_point deadline,
           std::atomic<int64_t>& parked_gauge);
  ~PollCall() override;

  // The arrival check: an answer now, or nullopt when the call is parked in the registry.
  std::optional<http::Response> arrive();

  std::chrono::steady_clock::time_point deadline() const override { return deadline_; }
  std::optional<http::Response> attach(std::shared_ptr<http::Wakeup> wakeup) override;
  std::optional<http::Response> on_wake() override;
  http::Response on_timeout() override;
  void on_abandon() override;
  void wake(registry::PollAnswer answer) override;

 private:
  registry::Registry& registry_;
  const UpInstancesRenderer& renderer_;
  registry::ParkedPoll parked_;
  std::chrono::steady_clock::time_point deadline_;
  std::atomic<int64_t>& parked_gauge_;
  bool counted_ = false;
  std::mutex mu_;  // guards wakeup_ and answer_ against wake()
  std::shared_ptr<http::Wakeup> wakeup_;
  std::optional<registry::PollAnswer> answer_;  // from wake(), until the session takes it
  bool answered_ = false;                       // the registry answered, and so unparked, this poll
};

}  // namespace muster::api
