#include "poll_loop.h"

#include "instance_json.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

#include "wire/form.h"
#include "wire/instance_json.h"

namespace muster::detail {

namespace asio = boost::asio;
namespace json = boost::json;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

std::optional<PollAnswer> parse_poll_answer(const std::string& body) {
  const auto envelope = wire::read_envelope(body);
  if (!envelope) return std::nullopt;
  PollAnswer answer;
  answer.code = envelope->code;
  if (const json::value& data = envelope->data; data.is_object()) {
    for (const auto& [appid, info] : data.get_object()) {
      if (!info.is_object()) continue;
      auto& [latest, instances] = answer.apps[std::string(appid)];
      latest = wire::json_int(info.get_object(), "latest_timestamp");
      const json::value* zones = info.get_object().if_contains("instances");
      if (zones == nullptr || !zones->is_object()) continue;
      for (const auto& [zone, list] : zones->get_object()) {
        if (!list.is_array()) continue;
        for (const json::value& item : list.get_array()) {
          if (!item.is_object()) continue;
          if (auto instance = readable_instance(item.get_object()))
            instances.push_back(std::move(*instance));
          else
            ++answer.skipped;
        }
      }
      std::sort(instances.begin(), instances.end(), [](const Instance& a, const Instance& b) {
        return std::tie(a.zone, a.hostname) < std::tie(b.zone, b.hostname);
      });
    }
  }
  if (const json::value& error = envelope->error; error.is_object()) {
    if (const json::value* missing = error.get_object().if_contains("-404");
        missing != nullptr && missing->is_array()) {
      for (const json::value& m : missing->get_array())
        if (m.is_string()) answer.missing.emplace_back(m.get_string());
    }
  }
  return answer;
}

PollLoop::PollLoop(ClientCore& core) : core_(core), wake_(core.context()) {}

uint64_t PollLoop::add(const std::string& appid, Listener listener) {
  const uint64_t id = next_id_++;
  App& app = apps_[appid];
  const bool new_app = app.listeners.empty() && !app.last;
  app.listeners.emplace(id, std::move(listener));
  listener_app_.emplace(id, appid);
  if (app.last) {
    // Tell the newcomer what is known, after this call returns (it may hold the caller's state).
    asio::post(core_.context(), [weak = weak_from_this(), id, appid] {
      auto self = weak.lock();
      if (!self) return;
      auto it = self->apps_.find(appid);
      if (it == self->apps_.end() || !it->second.last) return;
      auto l = it->second.listeners.find(id);
      if (l != it->second.listeners.end()) l->second(*it->second.last);
    });
  }
  if (!running_) {
    running_ = true;
    asio::co_spawn(
        core_.context(), [self = shared_from_this()] { return self->run(); }, asio::detached);
  } else if (new_app) {
    restart();
  }
  return id;
}

void PollLoop::remove(uint64_t id) {
  auto it = listener_app_.find(id);
  if (it == listener_app_.end()) return;
  auto app = apps_.find(it->second);
  if (app != apps_.end()) {
    app->second.listeners.erase(id);
    if (app->second.listeners.empty()) apps_.erase(app);
  }
  listener_app_.erase(it);
}

void PollLoop::restart() {
  if (in_flight_ != nullptr) {
    in_flight_->interrupt();
  } else {
    wake_.cancel();
  }
}

std::string PollLoop::target() const {
  const ClientOptions& o = core_.options();
  std::string query;
  wire::append_field(query, "env", o.env);
  wire::append_field(query, "hostname", o.hostname);
  for (const auto& [appid, app] : apps_)
    wire::append_field(query, "appid", appid);
  for (const auto& [appid, app] : apps_)
    wire::append_field(query, "latest_timestamp", app.latest);
  // An app that leaves between one answer and this poll is told at once, not left parked.
  wire::append_field(query, "report_missing", "true");
  return "/discovery/polls?" + query;
}

void PollLoop::apply(PollAnswer answer) {
  for (auto& [appid, entry] : answer.apps) {
    auto it = apps_.find(appid);
    if (it == apps_.end()) continue;  // no longer watched
    it->second.latest = entry.first;
    it->second.last = std::move(entry.second);
  }
  for (const std::string& appid : answer.missing) {
    auto it = apps_.find(appid);
    if (it == apps_.end()) continue;
    // Known as gone: the next poll waits for the app's return (report_missing answers at once
    // for an app polled with a timestamp).
    it->second.latest = 0;
    // Every answer lists the apps still missing; only a change is news.
    if (it->second.last && it->second.last->empty()) continue;
    it->second.last.emplace();
    answer.apps[appid];  // tell its listeners below
  }
  for (const auto& [appid, entry] : answer.apps) {
    auto it = apps_.find(appid);
    if (it == apps_.end()) continue;
    // A copy: a listener may add listeners (posted work does), never remove them here.
    const auto listeners = it->second.listeners;
    const auto list = *it->second.last;
    for (const auto& [id, listener] : listeners)
      listener(list);
  }
}

namespace {

// Why a poll failed, in one line for ClientOptions::on_poll_error.
std::string poll_failure(const std::optional<HttpResult>& result,
                         const std::optional<PollAnswer>& answer) {
  if (!result) return "no answer (connection refused or reset, or timed out)";
  if (!answer) {
    return "HTTP " + std::to_string(result->status) +
           " without a poll answer: " + result->body.substr(0, 120);
  }
  return "answered code " + std::to_string(answer->code);
}

}  // namespace

asio::awaitable<void> PollLoop::run() {
  // The loop ends when the client's io_context stops; until then it never returns.
  auto self = shared_from_this();
  const ClientOptions& o = core_.options();
  const std::string hold_header =
      "x1-bmspy-timeout: " + std::to_string(o.poll_hold.count()) + "\r\n";
  auto last_move = std::chrono::steady_clock::now();
  for (int failures = 0;;) {
    if (apps_.empty()) {
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(kNoThrow);
      continue;
    }
    if (std::chrono::steady_clock::now() - last_move >= o.move_every) {
      core_.next_node();
      last_move = std::chrono::steady_clock::now();
    }
    const std::string node = core_.node();
    if (node != polled_node_) {
      // Timestamps are each node's own: ask the new node for everything.
      for (auto& [appid, app] : apps_)
        app.latest = 0;
      polled_node_ = node;
    }
    RequestControl control;
    control.timeout = o.poll_hold + std::chrono::seconds(5);
    control.headers = hold_header;
    in_flight_ = &control;
    const auto result = co_await core_.request("GET", target(), "", &control);
    in_flight_ = nullptr;
    if (control.interrupted) continue;  // the watched set changed: poll again with it
    std::optional<PollAnswer> answer;
    if (result) answer = parse_poll_answer(result->body);
    if (answer && (answer->code == 0 || answer->code == -304)) {
      if (failures > 0 && o.on_poll_recovered) o.on_poll_recovered(node);
      failures = 0;
      if (answer->skipped > 0 && o.on_unreadable) o.on_unreadable(node, answer->skipped);
      if (answer->code == 0) apply(std::move(*answer));
      continue;
    }
    // Answered, but not usefully (init-protect -500, not a registry): another node, after a
    // pause. A transport failure has already moved on.
    if (o.on_poll_error) o.on_poll_error(node, poll_failure(result, answer));
    if (result && core_.node() == node) core_.next_node();
    ++failures;
    wake_.expires_after(core_.backoff(failures));
    co_await wake_.async_wait(kNoThrow);
  }
}

}  // namespace muster::detail
