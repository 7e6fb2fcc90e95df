#include "cluster/peer_link.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include "cluster/http_get.h"
#include "common/endpoint.h"
#include "common/json_writer.h"
#include "common/socket_deadline.h"
#include "common/tls.h"
#include "wire/form.h"
#include "wire/instance_json.h"

namespace muster::cluster {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// Items per pipelined batch: enough to amortise a round trip, few enough that a failure loses
// little.
constexpr size_t kBatch = 256;

std::string_view replication_flag(const PeerItem& item) {
  return item.replication ? "&replication=true" : "&replication=false";
}
// A connection unused for this long is replaced before the next batch (peers close idle ones).
constexpr auto kIdleReconnect = std::chrono::seconds(20);
// An idle link asks its peer this often whether it is alive (issue 14.7).
constexpr auto kProbeInterval = std::chrono::seconds(3);

std::string_view route_of(WriteKind kind) {
  switch (kind) {
    case WriteKind::kRegister:
      return "/discovery/register";
    case WriteKind::kRenew:
      return "/discovery/renew";
    case WriteKind::kCancel:
      return "/discovery/cancel";
    case WriteKind::kSet:
      return "/discovery/set";
  }
  return "/discovery/register";
}

size_t InstanceIdHash::operator()(const InstanceId& id) const noexcept {
  size_t h = 0;
  for (const std::string* part : {&id.zone, &id.env, &id.appid, &id.hostname})
    h = h * 1000003 ^ std::hash<std::string>{}(*part);
  return h;
}

PeerLink::PeerLink(asio::io_context& ioc, std::string addr, size_t capacity,
                   std::chrono::nanoseconds timeout, ReplyHandler& handler, const Clock& clock,
                   const PeerCredentials& peer, QueueBudget* budget)
    : addr_(std::move(addr)),
      auth_lines_(bearer_lines(peer.token)),
      tls_(peer.tls),
      capacity_(capacity),
      budget_(budget),
      timeout_(timeout),
      handler_(handler),
      ioc_(ioc),
      signal_(ioc),
      clock_(clock) {}

PeerLink::~PeerLink() {
  if (budget_ == nullptr) return;
  for (const Queued& q : queue_)
    budget_->give(q.bytes);
}

namespace {

// What a queued item holds in memory, about: the queue's entry, its form, and for a renew the
// pending-renew entry of its instance.
size_t queued_bytes(const PeerItem& item) {
  size_t bytes = 128 + item.body.capacity();
  if (item.renew_of) {
    bytes += 96;
    for (const std::string* part : {&item.renew_of->zone, &item.renew_of->env,
                                    &item.renew_of->appid, &item.renew_of->hostname})
      bytes += part->capacity();
  }
  return bytes;
}

}  // namespace

bool PeerLink::enqueue(PeerItem item) {
  std::lock_guard lock(mu_);
  if (item.renew_of) {
    // A renew already waiting carries the same news: the instance is alive, since this one.
    if (const auto it = pending_renews_.find(*item.renew_of); it != pending_renews_.end()) {
      it->second = std::max(it->second, item.renewed_mono);
      ++counters_.coalesced;
      return true;
    }
  }
  const size_t bytes = budget_ != nullptr ? queued_bytes(item) : 0;
  if (queue_.size() >= capacity_ || (budget_ != nullptr && !budget_->take(bytes))) {
    ++counters_.dropped;
    lost_writes_ = true;
    return false;
  }
  if (item.renew_of) pending_renews_.emplace(*item.renew_of, item.renewed_mono);
  queue_.push_back({std::move(item), std::chrono::steady_clock::now(), bytes});
  if (waiting_) {
    waiting_ = false;
    asio::post(ioc_, [this] { signal_.cancel(); });
  }
  return true;
}

size_t PeerLink::queue_depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void PeerLink::stop(bool now) {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    stop_now_ = stop_now_ || now;
  }
  signal_.cancel();
}

void PeerLink::mark(PeerStatus s) {
  if (status_.exchange(s) == s) return;
  spdlog::info("peer {} is {}", addr_, s == PeerStatus::kUp ? "up" : "lost");
  if (s == PeerStatus::kUp && lost_writes_.exchange(false)) handler_.on_back(*this);
}

std::vector<PeerItem> PeerLink::take() {
  std::vector<Queued> batch;
  take_batch(batch);
  std::vector<PeerItem> out;
  out.reserve(batch.size());
  for (Queued& q : batch)
    out.push_back(std::move(q.item));
  return out;
}

void PeerLink::answered(const PeerItem& item, const std::string& answer_body) {
  ++counters_.items_sent;
  boost::json::value data;
  const int code = note_reply(answer_body, data);
  if (code == -500) {
    ++counters_.failures;
    lost_writes_ = true;
  }
  handler_.on_reply(*this, item, code, data);
}

void PeerLink::failed_batch(size_t items) {
  counters_.failures += items;
  lost_writes_ = true;
  mark(PeerStatus::kLost);
}

std::string PeerLink::form_of(const PeerItem& item) const {
  std::string out = item.body;
  if (item.renewed_mono > 0)
    wire::append_field(out, "renew_age",
                       std::max<int64_t>(0, clock_.mono_ns() - item.renewed_mono));
  out += replication_flag(item);
  return out;
}

void PeerLink::take_batch(std::vector<Queued>& batch) {
  batch.clear();
  std::lock_guard lock(mu_);
  while (!queue_.empty() && batch.size() < kBatch) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
    if (budget_ != nullptr) budget_->give(batch.back().bytes);
    PeerItem& item = batch.back().item;
    if (!item.renew_of) continue;
    const auto it = pending_renews_.find(*item.renew_of);
    if (it == pending_renews_.end()) continue;
    item.renewed_mono = std::max(item.renewed_mono, it->second);
    pending_renews_.erase(it);
  }
  if (batch.empty() && !stopping_) waiting_ = true;
}

asio::awaitable<void> PeerLink::pause(std::chrono::nanoseconds d) {
  signal_.expires_after(d);
  co_await signal_.async_wait(kNoThrow);
}

asio::awaitable<bool> PeerLink::connect(tcp::socket& socket, ClientStream& stream) {
  const auto peer = parse_host_port(addr_);
  if (!peer) co_return false;
  tcp::resolver resolver(ioc_);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(peer->host, std::to_string(peer->port), kNoThrow);
  if (rec) co_return false;
  boost::system::error_code ec;
  const SocketDeadline deadline(ioc_, socket, timeout_);
  std::tie(ec, std::ignore) = co_await asio::async_connect(socket, endpoints, kNoThrow);
  if (ec || !socket.is_open()) co_return false;
  socket.set_option(tcp::no_delay(true), ec);
  // Each connection takes the context in force when it starts (SIGHUP may replace it).
  const auto tls = tls_ ? tls_->current() : nullptr;
  std::string error;
  if (!co_await stream.start(tls ? tls->context.get() : nullptr, peer->host, &error)) {
    // Said once until a handshake succeeds: a wrong certificate fails every retry alike.
    if (!tls_failing_) spdlog::warn("peer {}: {}", addr_, error);
    tls_failing_ = true;
    co_return false;
  }
  tls_failing_ = false;
  co_return true;
}

asio::awaitable<bool> PeerLink::send_batch(tcp::socket& socket, ClientStream& stream,
                                           boost::beast::flat_buffer& buffer,
                                           std::vector<Queued>& batch) {
  std::string out;
  out.reserve(batch.size() * 400);
  for (const Queued& q : batch) {
    const PeerItem& item = q.item;
    const std::string form = form_of(item);
    out += "POST ";
    out += route_of(item.kind);
    out += " HTTP/1.1\r\nHost: ";
    out += addr_;
    out += "\r\n";
    out += auth_lines_;
    out += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ";
    json::append_int(out, static_cast<int64_t>(form.size()));
    out += "\r\n\r\n";
    out += form;
  }
  // One deadline for the whole batch: a peer too slow to answer it is treated as lost.
  const SocketDeadline deadline(ioc_, socket, timeout_);
  auto [wec, written] = co_await asio::async_write(stream, asio::buffer(out), kNoThrow);
  if (wec) co_return false;
  ++counters_.batches;
  for (const Queued& q : batch) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    auto [rec, n] = co_await bhttp::async_read(stream, buffer, parser, kNoThrow);
    if (rec) co_return false;
    answered(q.item, parser.get().body());
  }
  const auto lag = std::chrono::steady_clock::now() - batch.front().queued_at;
  last_lag_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(lag).count();
  co_return true;
}

int PeerLink::note_reply(const std::string& text, boost::json::value& data) {
  int code = -500;
  if (auto envelope = wire::read_envelope(text)) {
    code = envelope->code;
    data = std::move(envelope->data);
  }
  // docs/decisions.md §6.5: a -500 reply marks the peer lost; any other envelope means it is up.
  if (code != -500) last_answer_ = std::chrono::steady_clock::now();
  mark(code == -500 ? PeerStatus::kLost : PeerStatus::kUp);
  return code;
}

asio::awaitable<bool> PeerLink::probe(tcp::socket& socket, ClientStream& stream,
                                      boost::beast::flat_buffer& buffer) {
  const std::string request =
      "GET /discovery/nodes HTTP/1.1\r\nHost: " + addr_ + "\r\n" + auth_lines_ + "\r\n";
  const SocketDeadline deadline(ioc_, socket, timeout_);
  auto [wec, written] = co_await asio::async_write(stream, asio::buffer(request), kNoThrow);
  if (wec) co_return false;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(1024 * 1024);
  auto [rec, n] = co_await bhttp::async_read(stream, buffer, parser, kNoThrow);
  if (rec) co_return false;
  boost::json::value ignored;
  co_return note_reply(parser.get().body(), ignored) != -500;
}

asio::awaitable<void> PeerLink::run() {
  using namespace std::chrono_literals;
  std::chrono::nanoseconds backoff = 100ms;
  std::vector<Queued> batch;  // kept across a reconnect until it has been sent once
  batch.reserve(kBatch);
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_now_ || (stopping_ && queue_.empty() && batch.empty())) break;
    }
    tcp::socket socket(ioc_);
    ClientStream stream(socket);
    if (!co_await connect(socket, stream)) {
      mark(PeerStatus::kLost);
      co_await pause(backoff);
      backoff = std::min<std::chrono::nanoseconds>(backoff * 2, 5s);
      continue;
    }
    // Not up yet: a frozen (SIGSTOP) peer's kernel still accepts connections. Up is marked when
    // the peer answers a batch or a probe.
    boost::beast::flat_buffer buffer;
    auto last_used = std::chrono::steady_clock::now();
    bool failed = false;
    for (;;) {
      if (batch.empty()) take_batch(batch);
      if (batch.empty()) {
        // Writes dropped while the peer answered (a full queue, a resync's own pushes among
        // them): now that the queue has drained, one more comparison brings it what it missed.
        // Each round sends at least a queue's worth, so the rounds end.
        if (status_ == PeerStatus::kUp && lost_writes_.exchange(false)) handler_.on_back(*this);
        {
          std::lock_guard lock(mu_);
          if (stopping_) break;
        }
        const auto since_answer = std::chrono::steady_clock::now() - last_answer_;
        if (status_ != PeerStatus::kUp || since_answer >= kProbeInterval) {
          last_used = std::chrono::steady_clock::now();
          if (!co_await probe(socket, stream, buffer)) {
            mark(PeerStatus::kLost);
            failed = true;
            break;
          }
          backoff = 100ms;
          continue;
        }
        signal_.expires_after(kProbeInterval - since_answer);
        co_await signal_.async_wait(kNoThrow);
        continue;
      }
      // The peer closes connections idle for long (its idle timeout): start afresh rather than
      // lose a batch to a connection that is already gone.
      if (std::chrono::steady_clock::now() - last_used > kIdleReconnect) break;
      const bool sent = co_await send_batch(socket, stream, buffer, batch);
      last_used = std::chrono::steady_clock::now();
      if (!sent) {
        // Each item gets one attempt (docs/decisions.md §6.2); renews and anti-entropy repair what
        // is lost. What the batch left unsent is discarded with a reset, never delivered late.
        failed_batch(batch.size());
        batch.clear();
        failed = true;
        break;
      }
      backoff = 100ms;
      batch.clear();
    }
    boost::system::error_code ignored;
    // A given-up connection is reset: what it left unsent is never delivered late.
    if (failed) socket.set_option(asio::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
    if (failed) {
      co_await pause(backoff);
      backoff = std::min<std::chrono::nanoseconds>(backoff * 2, 5s);
    }
  }
}

}  // namespace muster::cluster
