#pragma once
// One peer node: a bounded queue of replicated writes and one kept-alive connection that sends
// them pipelined, a batch at a time (docs/decisions.md §6.2). A link with nothing to send probes
// its peer (GET /discovery/nodes) every few seconds, so that "up" always means the peer answered
// recently, never merely that a connection was accepted.
// Threading: enqueue(), status() and the counters may be called from any thread; the connection
// loop and on_reply() run on the io_context given to run().
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cluster/cluster_options.h"
#include "cluster/queue_budget.h"
#include "common/client_stream.h"
#include "common/clock.h"
#include "registry/registry.h"

namespace muster::cluster {

enum class PeerStatus { kUp = 0, kLost = 1 };  // the numbers /discovery/nodes shows

// What a queued write does at the peer: which /discovery/ route it is posted to.
enum class WriteKind { kRegister, kRenew, kCancel, kSet };
std::string_view route_of(WriteKind kind);

// An instance's identity, owned: what a queued renew is about.
struct InstanceId {
  std::string zone, env, appid, hostname;
  static InstanceId of(const registry::InstanceKey& key) {
    return {std::string(key.zone), std::string(key.env), std::string(key.appid),
            std::string(key.hostname)};
  }
  registry::InstanceKey view() const { return {zone, env, appid, hostname}; }
  bool operator==(const InstanceId&) const = default;
};
struct InstanceIdHash {
  size_t operator()(const InstanceId& id) const noexcept;
};

struct PeerItem {
  WriteKind kind = WriteKind::kRegister;
  std::string body;  // form, without `replication` and `renew_age`
  bool replication = true;
  std::optional<InstanceId> renew_of;  // set for a renew: one pending renew per instance
  // The lease the item carries (a renew, a register of an instance with a lease): the sender's
  // monotonic time (its registry's clock) of the instance's last renew; 0 for none. `renew_age`
  // is computed from it when the item is sent, so that the time it waited in the queue counts:
  // a renew delivered late must not give the peer a lease fresher than the instance has
  // (docs/decisions.md §5.7).
  int64_t renewed_mono = 0;
};

class PeerLink;

// What the link's owner does with a peer's answers and status. Runs on the link's io_context.
class ReplyHandler {
 public:
  virtual void on_reply(PeerLink& link, const PeerItem& item, int code,
                        const boost::json::value& data) = 0;
  // The peer answers again after writes to it were lost (a failed batch, a full queue), or
  // its queue drained after writes to it were dropped while it answered.
  virtual void on_back(PeerLink& link) = 0;

 protected:
  ~ReplyHandler() = default;
};

struct PeerCounters {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> items_sent{0};
  std::atomic<uint64_t> dropped{0};   // queue full, or the budget of all queues spent
  std::atomic<uint64_t> failures{0};  // items lost with a broken connection, or -500 answers
  std::atomic<uint64_t> coalesced{0};
};

class PeerLink {
 public:
  // `peer`: the token sent with every request, and TLS. `clock`: what PeerItem::renewed_mono is
  // measured by (the registry's); it must outlive the link, as must `budget` (the bytes all
  // links' queues may hold together; null: only `capacity` items bound this queue).
  PeerLink(boost::asio::io_context& ioc, std::string addr, size_t capacity,
           std::chrono::nanoseconds timeout, ReplyHandler& handler, const Clock& clock,
           const PeerCredentials& peer = {}, QueueBudget* budget = nullptr);
  ~PeerLink();
  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;
  const std::string& addr() const { return addr_; }

  // Queues an item; false (and counted) when the queue is full or the budget spent.
  bool enqueue(PeerItem item);
  // Sends queued items until stop(); reconnects after failures with a back-off.
  boost::asio::awaitable<void> run();
  // Ends run(): once the queue is empty, or at once with `now`. Call on the link's io_context.
  void stop(bool now);

  PeerStatus status() const { return status_.load(); }
  // stop() was called: the link sends no more. Link's io_context thread.
  bool stopped() const {
    std::lock_guard lock(mu_);
    return stopping_;
  }
  size_t queue_depth() const;
  const PeerCounters& counters() const { return counters_; }

  // The transport seam of the cluster simulation (tests/sim/), which stands in for run() and
  // its socket, on one thread: take() removes the next batch from the queue as run() does;
  // answered() is the peer's answer to one item of it, handled as run() handles it (the status,
  // then the owner's on_reply); failed_batch() is a batch of `items` that got no answer (the
  // connection broke): lost, and the peer marked lost.
  std::vector<PeerItem> take();
  void answered(const PeerItem& item, const std::string& answer_body);
  void failed_batch(size_t items);
  // The form body posted for `item` now: its body, its lease's age and its `replication` flag.
  std::string form_of(const PeerItem& item) const;
  // Wall-clock time (ns) of the oldest item sent in the last good batch, when it was queued.
  int64_t last_lag_ns() const { return last_lag_ns_.load(); }

 private:
  struct Queued {
    PeerItem item;
    std::chrono::steady_clock::time_point queued_at;
    size_t bytes = 0;  // taken from the budget
  };
  // Connects `socket` and starts `stream` on it (the TLS handshake, with TLS).
  boost::asio::awaitable<bool> connect(boost::asio::ip::tcp::socket& socket, ClientStream& stream);
  boost::asio::awaitable<bool> send_batch(boost::asio::ip::tcp::socket& socket,
                                          ClientStream& stream, boost::beast::flat_buffer& buffer,
                                          std::vector<Queued>& batch);
  boost::asio::awaitable<void> pause(std::chrono::nanoseconds d);
  // One liveness request on `socket`; false if the peer did not answer in time, or answered -500.
  boost::asio::awaitable<bool> probe(boost::asio::ip::tcp::socket& socket, ClientStream& stream,
                                     boost::beast::flat_buffer& buffer);
  // A reply's envelope code (-500 for anything that is not an envelope); marks the peer's status.
  int note_reply(const std::string& body, boost::json::value& data);
  void take_batch(std::vector<Queued>& batch);
  void mark(PeerStatus s);

  const std::string addr_;
  const std::string auth_lines_;               // "Authorization: Bearer ...\r\n", or ""
  const std::shared_ptr<tls::ClientTls> tls_;  // null: plain HTTP
  const size_t capacity_;
  QueueBudget* const budget_;
  const std::chrono::nanoseconds timeout_;
  ReplyHandler& handler_;
  boost::asio::io_context& ioc_;
  boost::asio::steady_timer signal_;  // run() waits on it for items; enqueue() cancels it
  mutable std::mutex mu_;             // guards queue_, pending_renews_, the flags below
  std::deque<Queued> queue_;
  // The renews queued, by instance: the newest renew time each carries (a coalesced renew moves
  // it forward).
  std::unordered_map<InstanceId, int64_t, InstanceIdHash> pending_renews_;
  const Clock& clock_;
  bool waiting_ = false;  // run() waits for items
  bool stopping_ = false;
  bool stop_now_ = false;
  std::atomic<PeerStatus> status_{PeerStatus::kLost};
  std::atomic<bool> lost_writes_{false};  // since the peer last answered
  std::atomic<int64_t> last_lag_ns_{0};
  std::chrono::steady_clock::time_point last_answer_{};  // link's thread only
  bool tls_failing_ = false;                             // link's thread only
  PeerCounters counters_;
};

}  // namespace muster::cluster
