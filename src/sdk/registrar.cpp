#include "muster/registrar.h"

#include <mutex>
#include <random>

#include "client_core.h"
#include "wire/form.h"

namespace muster {

namespace asio = boost::asio;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

struct Registrar::State : std::enable_shared_from_this<Registrar::State> {
  State(detail::ClientCore* c, Registration r, std::chrono::milliseconds every)
      : core(c), registration(std::move(r)), interval(every), timer(core->context()) {}

  // Not owned: the Client outlives its registrars, and destroying it ends this work on its own
  // thread before anything here is released.
  detail::ClientCore* core;
  std::mutex mu;  // guards registration (set() changes it from any thread)
  Registration registration;
  const std::chrono::milliseconds interval;
  asio::steady_timer timer;  // the wait until the next renew; core's thread only
  bool stopped = false;      // core's thread only
  std::atomic<uint64_t> registrations{0};
  std::atomic<uint64_t> renews{0};

  std::string identity() const {
    const ClientOptions& o = core->options();
    std::string out;
    wire::append_identity(out, {o.zone, o.env, registration.appid, o.hostname});
    return out;
  }

  std::string register_form() {
    std::lock_guard lock(mu);
    std::string out = identity();
    wire::append_field(out, "region", core->options().region);
    wire::append_registration(out, registration.addrs, registration.status, registration.version,
                              wire::MetadataJson::of(registration.metadata));
    return out;
  }

  // Posts until a node answers; nullopt only when stopped first.
  asio::awaitable<std::optional<int>> post(std::string route, std::string body) {
    for (int failures = 0; !stopped;) {
      auto r = co_await core->request("POST", "/discovery/" + route, body);
      if (r) {
        if (auto code = detail::envelope_code(r->body)) co_return code;
        core->next_node();  // not a registry's answer: try another node
      }
      ++failures;
      timer.expires_after(core->backoff(failures));
      co_await timer.async_wait(kNoThrow);
    }
    co_return std::nullopt;
  }

  asio::awaitable<void> register_until_accepted() {
    while (!stopped) {
      const auto code = co_await post("register", register_form());
      if (code == 0) {
        ++registrations;
        // cancel() ran while this register was on its way and may have reached the node first:
        // cancel again, so that the register does not outlive it.
        if (stopped) co_await core->request("POST", "/discovery/cancel", identity());
        co_return;
      }
      if (!code) co_return;
      timer.expires_after(core->backoff(1));  // refused (-400, -500): try again later
      co_await timer.async_wait(kNoThrow);
    }
  }

  asio::awaitable<void> run() {
    co_await register_until_accepted();
    std::mt19937 rng(std::random_device{}());
    // The first renew somewhere in the first interval, later ones every interval.
    auto wait = std::chrono::milliseconds(
        std::uniform_int_distribution<int64_t>(interval.count() / 2, interval.count())(rng));
    while (!stopped) {
      timer.expires_after(wait);
      co_await timer.async_wait(kNoThrow);
      if (stopped) break;
      wait = interval;
      const std::string node = core->node();
      const auto code = co_await post("renew", identity());
      if (code == 0) {
        ++renews;
        // A renew that only succeeded on another node: make sure that node has our latest copy.
        if (core->node() != node) co_await register_until_accepted();
      } else if (code == -404) {
        co_await register_until_accepted();  // the node lost us (restarted, evicted)
      }
    }
  }
};

Registrar::Registrar(Client& client, Registration registration,
                     std::chrono::milliseconds renew_interval)
    : state_(std::make_shared<State>(&detail::core_of(client), std::move(registration),
                                     renew_interval)) {
  asio::co_spawn(
      state_->core->context(), [s = state_]() { return s->run(); }, asio::detached);
}

Registrar::~Registrar() {
  cancel();
}

bool Registrar::set(int status, const std::map<std::string, std::string>& metadata) {
  {
    std::lock_guard lock(state_->mu);
    state_->registration.status = status;
    for (const auto& [k, v] : metadata)
      state_->registration.metadata[k] = v;
  }
  auto s = state_;
  const auto limit = s->core->options().request_timeout * 2;
  const auto ok =
      detail::run_and_wait<bool>(*s->core, limit, [s, status, metadata]() -> asio::awaitable<bool> {
        std::string body = s->identity();
        wire::append_field(body, "status", status);
        if (!metadata.empty())
          wire::append_field(body, "metadata", wire::MetadataJson::of(metadata).text());
        const auto r = co_await s->core->request("POST", "/discovery/set", body);
        co_return r&& detail::envelope_code(r->body) == 0;
      });
  return ok.value_or(false);
}

bool Registrar::cancel() {
  auto s = state_;
  const auto limit = s->core->options().request_timeout * 2;
  const auto ok = detail::run_and_wait<bool>(*s->core, limit, [s]() -> asio::awaitable<bool> {
    if (s->stopped) co_return false;
    s->stopped = true;
    s->timer.cancel();
    const auto r = co_await s->core->request("POST", "/discovery/cancel", s->identity());
    co_return r&& detail::envelope_code(r->body) == 0;
  });
  return ok.value_or(false);
}

uint64_t Registrar::registrations() const {
  return state_->registrations.load();
}

uint64_t Registrar::renews() const {
  return state_->renews.load();
}

}  // namespace muster
