#pragma once
// A provider that asks its source again every interval (Prometheus's refresh.Discovery): once at
// start, then on a ticker, without back-off. A failed refresh sends nothing, so the manager keeps
// the last good groups, and is logged and counted; a successful one sends the full list plus, with
// `empty_vanished`, an empty group for every source of the last success that is gone (a shrunk
// list).
// Threading: runs on the context's io_context thread; `refresh` is called there, one at a time.
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "sd/provider.h"

namespace muster::sd {

class RefreshProvider : public Provider {
 public:
  // One refresh: the groups, or why it failed.
  using Result = std::variant<Groups, std::string>;
  using Refresh = std::function<boost::asio::awaitable<Result>()>;

  RefreshProvider(ProviderContext context, milliseconds interval, Refresh refresh,
                  bool empty_vanished = true);
  ~RefreshProvider() override;
  void start(Send send) override;
  void stop() override;

 private:
  struct State;
  static boost::asio::awaitable<void> run(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace muster::sd
