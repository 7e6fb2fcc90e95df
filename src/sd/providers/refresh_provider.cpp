#include "sd/providers/refresh_provider.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>

namespace muster::sd {

namespace asio = boost::asio;

struct RefreshProvider::State {
  State(ProviderContext c, milliseconds i, Refresh r, bool e)
      : context(std::move(c)),
        interval(i),
        refresh(std::move(r)),
        empty_vanished(e),
        timer(context.io) {}
  ProviderContext context;
  milliseconds interval;
  Refresh refresh;
  bool empty_vanished;
  Send send;
  asio::steady_timer timer;
  std::set<Source> last_sources;
  bool stopped = false;
};

// The loop owns a reference to the state, so that stop() and the provider's destruction only
// raise a flag: a refresh in flight finishes (its own timeout bounds it) and sends nothing.
asio::awaitable<void> RefreshProvider::run(std::shared_ptr<State> s) {
  while (!s->stopped) {
    const auto began = std::chrono::steady_clock::now();
    auto result = co_await s->refresh();
    if (s->stopped) break;
    s->context.stats->refreshes.inc();
    s->context.stats->refresh_nanos.inc(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - began)
                                  .count()));
    if (auto* problem = std::get_if<std::string>(&result)) {
      s->context.stats->failures.inc();
      spdlog::error("sd {}: refresh failed, keeping the last targets: {}", s->context.name,
                    *problem);
    } else {
      Groups groups = std::move(std::get<Groups>(result));
      std::set<Source> sources;
      for (const auto& g : groups)
        sources.insert(g.source);
      if (s->empty_vanished) {
        for (const auto& gone : s->last_sources)
          if (!sources.contains(gone)) groups.push_back(TargetGroup{{}, {}, gone});
        s->last_sources = std::move(sources);
      }
      s->send(std::move(groups));
    }
    s->timer.expires_after(s->interval);
    auto [ec] = co_await s->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;  // cancelled by stop(): the loop condition ends it
  }
}

RefreshProvider::RefreshProvider(ProviderContext context, milliseconds interval, Refresh refresh,
                                 bool empty_vanished)
    : state_(std::make_shared<State>(std::move(context), interval, std::move(refresh),
                                     empty_vanished)) {}

RefreshProvider::~RefreshProvider() {
  stop();
}

void RefreshProvider::start(Send send) {
  state_->send = std::move(send);
  asio::co_spawn(state_->context.io, run(state_), asio::detached);
}

void RefreshProvider::stop() {
  state_->stopped = true;
  state_->timer.cancel();
}

}  // namespace muster::sd
