#include "api/poll_call.h"

#include "api/envelope.h"
#include "common/json_writer.h"

namespace muster::api {

http::Response poll_response(const registry::PollQuery& query, const registry::PollAnswer& answer) {
  if (query.single) {
    if (!answer.missing.empty()) return envelope(kNotFound, query.appids[0] + " not found");
    return ok(*answer.changed.front().second);
  }
  // Built in place: the shared bytes of each app are copied once, straight into the body.
  size_t size = 32;
  for (const auto& [index, bytes] : answer.changed)
    size += bytes->size() + query.appids[index].size() + 4;
  for (size_t i : answer.missing)
    size += query.appids[i].size() + 4;
  return envelope_with(
      kOk, "0",
      [&](std::string& body) {
        body.push_back('{');
        bool first = true;
        for (const auto& [index, bytes] : answer.changed) {
          if (!first) body.push_back(',');
          first = false;
          json::append_string(body, query.appids[index]);
          body.push_back(':');
          body += *bytes;
        }
        // The envelope's next key after data; envelope_with closes the object.
        body += "},\"error\":{\"-404\":[";
        for (size_t i = 0; i < answer.missing.size(); ++i) {
          if (i > 0) body.push_back(',');
          json::append_string(body, query.appids[answer.missing[i]]);
        }
        body += "]}";
      },
      size);
}

PollCall::PollCall(registry::Registry& registry, const UpInstancesRenderer& renderer,
                   registry::PollQuery query, std::chrono::steady_clock::time_point deadline,
                   std::atomic<int64_t>& parked_gauge)
    : registry_(registry), renderer_(renderer), deadline_(deadline), parked_gauge_(parked_gauge) {
  parked_.query = std::move(query);
  parked_.waiter = this;
}

PollCall::~PollCall() {
  if (!answered_) registry_.unpark(parked_);
  if (counted_) --parked_gauge_;
}

std::optional<http::Response> PollCall::arrive() {
  if (auto answer = registry_.poll(parked_, renderer_))
    return poll_response(parked_.query, *answer);
  ++parked_gauge_;
  counted_ = true;
  return std::nullopt;
}

std::optional<http::Response> PollCall::attach(std::shared_ptr<http::Wakeup> wakeup) {
  {
    std::lock_guard lock(mu_);
    wakeup_ = std::move(wakeup);
  }
  return on_wake();  // an answer that came before the session attached
}

void PollCall::wake(registry::PollAnswer answer) {
  std::lock_guard lock(mu_);
  answer_ = std::move(answer);
  if (wakeup_) wakeup_->fire();
}

std::optional<http::Response> PollCall::on_wake() {
  std::optional<registry::PollAnswer> answer;
  {
    std::lock_guard lock(mu_);
    answer.swap(answer_);
  }
  if (!answer) return std::nullopt;
  answered_ = true;
  return poll_response(parked_.query, *answer);
}

http::Response PollCall::on_timeout() {
  if (auto answer = on_wake()) return std::move(*answer);  // it came just in time
  registry_.unpark(parked_);
  return envelope(kNotModified, "not modified");
}

void PollCall::on_abandon() {
  registry_.unpark(parked_);
}

}  // namespace muster::api
