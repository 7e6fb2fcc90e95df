#pragma once
// A PeerLink running on its own io_context thread, with a handler that records what the link
// reports, for the peer link tests.
// Threading: the link and the handler's calls run on the harness's thread; the test reads the
// records under the mutex.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>
#include <memory>
#include <mutex>
#include <thread>

#include "cluster/peer_link.h"
#include "sdk/real_node.h"

namespace muster::cluster::testing {

using muster::testing::eventually;

struct Reply {
  WriteKind kind;
  int code;
  std::string data;  // JSON text
};

struct RecordingHandler : ReplyHandler {
  void on_reply(PeerLink&, const PeerItem& item, int code,
                const boost::json::value& data) override {
    std::lock_guard lock(mu);
    replies.push_back({item.kind, code, boost::json::serialize(data)});
  }
  void on_back(PeerLink&) override {
    std::lock_guard lock(mu);
    ++backs;
  }
  std::vector<Reply> all() {
    std::lock_guard lock(mu);
    return replies;
  }
  int back_count() {
    std::lock_guard lock(mu);
    return backs;
  }
  std::mutex mu;
  std::vector<Reply> replies;
  int backs = 0;
};

class LinkHarness {
 public:
  explicit LinkHarness(std::string addr, size_t capacity = 1000)
      : link_(std::make_unique<PeerLink>(io_, std::move(addr), capacity, std::chrono::seconds(2),
                                         handler_, clock_)) {}
  ~LinkHarness() {
    if (!thread_.joinable()) return;
    boost::asio::post(io_, [this] { link_->stop(true); });
    eventually([this] { return finished_.load(); }, std::chrono::seconds(10));
    io_.stop();
    thread_.join();
  }
  LinkHarness(const LinkHarness&) = delete;
  LinkHarness& operator=(const LinkHarness&) = delete;

  void run() {
    boost::asio::co_spawn(io_, link_->run(), [this](std::exception_ptr) { finished_ = true; });
    thread_ = std::thread([this] { io_.run(); });
  }
  PeerLink& link() { return *link_; }
  RecordingHandler& handler() { return handler_; }

 private:
  boost::asio::io_context io_;
  SystemClock clock_;
  RecordingHandler handler_;
  std::unique_ptr<PeerLink> link_;
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

inline PeerItem write(WriteKind kind, std::string body, bool replication = true) {
  PeerItem item;
  item.kind = kind;
  item.body = std::move(body);
  item.replication = replication;
  return item;
}

inline PeerItem renew_of(const std::string& hostname) {
  PeerItem item = write(WriteKind::kRenew, "hostname=" + hostname);
  item.renew_of = InstanceId{"sh001", "dev", "web", hostname};
  return item;
}

}  // namespace muster::cluster::testing
