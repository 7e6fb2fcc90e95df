#pragma once
// The memory the replication queues of all peers may hold together (issue 27.3): a link takes an
// item's bytes when it queues it and gives them back when the item leaves the queue (sent, or
// the link gone). An item that would go over the budget is not queued: dropped and counted, and
// repaired by the next renew or by anti-entropy, as a full queue's are (docs/decisions.md §6.2).
// So many peers, or a few that never answer, cannot make the queues take the node's memory.
// Threading: any thread; lock-free.
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace muster::cluster {

class QueueBudget {
 public:
  explicit QueueBudget(size_t limit) : limit_(limit) {}

  // Takes `bytes` if they fit; false (and counted) if not.
  bool take(size_t bytes) {
    size_t used = used_.load();
    do {
      if (used + bytes > limit_) {
        ++refused_;
        return false;
      }
    } while (!used_.compare_exchange_weak(used, used + bytes));
    return true;
  }
  void give(size_t bytes) { used_.fetch_sub(bytes); }

  size_t limit() const { return limit_; }
  size_t used() const { return used_.load(); }
  uint64_t refused() const { return refused_.load(); }

 private:
  const size_t limit_;
  std::atomic<size_t> used_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace muster::cluster
