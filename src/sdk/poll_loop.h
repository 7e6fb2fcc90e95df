#pragma once
// The one long-poll loop of a Client: polls every watched appid with its latest timestamp and
// hands each change to the listeners of that app. Internal to libmuster.
// Threading: everything here runs on the core's thread (callers post to it).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client_core.h"
#include "muster/instance.h"

namespace muster::detail {

// One poll answer, parsed: the apps it carries and the apps it reports missing.
struct PollAnswer {
  int code = 0;
  std::map<std::string, std::pair<int64_t, std::vector<Instance>>> apps;  // latest, UP instances
  std::vector<std::string> missing;
  size_t skipped = 0;  // instances left out because their text is not valid UTF-8
};
// nullopt when `body` is not a registry's answer.
std::optional<PollAnswer> parse_poll_answer(const std::string& body);

class PollLoop : public std::enable_shared_from_this<PollLoop> {
 public:
  // Called with the app's UP instances after each change; an app that vanished gets an empty list.
  using Listener = std::function<void(const std::vector<Instance>&)>;

  explicit PollLoop(ClientCore& core);
  // Adds a listener and returns its id; the loop starts on the first one. A listener of an app
  // already known hears its current list at once (posted).
  uint64_t add(const std::string& appid, Listener listener);
  void remove(uint64_t id);

 private:
  struct App {
    int64_t latest = 0;
    std::optional<std::vector<Instance>> last;  // the last list heard, if any
    std::map<uint64_t, Listener> listeners;
  };
  boost::asio::awaitable<void> run();
  std::string target() const;
  void apply(PollAnswer answer);
  // The watched set changed: a poll in flight is asked again with the new set.
  void restart();

  ClientCore& core_;
  std::map<std::string, App> apps_;
  std::map<uint64_t, std::string> listener_app_;
  uint64_t next_id_ = 1;
  bool running_ = false;
  RequestControl* in_flight_ = nullptr;
  boost::asio::steady_timer wake_;  // idle wait (nothing watched) and back-off; restart() cuts it
  std::string polled_node_;         // the node the timestamps come from
};

}  // namespace muster::detail
