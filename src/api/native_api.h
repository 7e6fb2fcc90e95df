#pragma once
// The native API: Bilibili discovery's /discovery/* routes (docs/api.md, routes) over the registry.
// Threading: handlers run on any server worker at once; the object holds no per-request state,
// only the registry (itself thread-safe), atomics, and the cached fetch/all rendering under its
// own mutex.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "api/api.h"
#include "api/render.h"
#include "cluster/replicator.h"
#include "cluster/writes.h"
#include "common/clock.h"
#include "http/router.h"
#include "registry/registry.h"

namespace muster::api {

using namespace std::chrono_literals;

struct NativeOptions {
  std::chrono::nanoseconds poll_hold = 30s;
  std::chrono::nanoseconds poll_jitter = 2s;
  size_t max_poll_appids = 1000;
  size_t max_parked_polls = 50'000;
  bool compat_brpc_fetchs = false;
};

class NativeApi final : public Api {
 public:
  NativeApi(const ApiContext& context, NativeOptions options);
  void add_routes(http::Router& router) override;
  // The envelope for a body over the server's limit on a /discovery/ route.
  std::optional<http::Response> reject_body(std::string_view path,
                                            std::string message) const override;
  // Frees the cached fetch/all rendering once it is stale.
  void on_tick() override;

 private:
  http::Outcome handle_register(const http::Request& request);
  http::Outcome handle_renew(const http::Request& request);
  http::Outcome handle_cancel(const http::Request& request);
  http::Outcome handle_set(const http::Request& request);
  http::Outcome handle_fetch(const http::Request& request);
  http::Outcome handle_fetchs(const http::Request& request);
  http::Outcome handle_fetch_all(const http::Request& request);
  http::Outcome handle_poll(const http::Request& request, bool single);
  http::Outcome handle_nodes(const http::Request& request);
  http::Outcome handle_digests(const http::Request& request);
  std::chrono::steady_clock::time_point poll_deadline(const http::Request& request) const;
  http::Response too_many_appids(size_t n) const;
  // The whole fetch/all answer (envelope included), rendered app by app.
  std::shared_ptr<const std::string> render_fetch_all(int64_t wall) const;
  static http::Response with_clock(http::Response r, int64_t rendered_at);
  // Why a timestamp from a request is out of range (negative, or far ahead of this node's clock).
  std::optional<std::string> check_timestamp(std::string_view name, int64_t value) const;

  bool init_protected() const { return init_protect_.active(); }
  // The answer to a request whose token does not allow `need` (on `appid`), if so.
  std::optional<http::Response> refused(const http::Request& request, Need need,
                                        std::string_view appid = {}) const;
  // The same for a write: `client_need` from a client, a peer's token for a replicated one; and
  // a client's write over its source address's rate.
  std::optional<http::Response> refused_write(const http::Request& request, cluster::Origin origin,
                                              Need client_need, std::string_view appid) const;
  // Who reads (render.h): a peer by its certificate or token (or, with no token configured, by
  // the X-Muster-Peer header peers send), else a client.
  Reader reader_of(const http::Request& request) const;

  registry::Registry& registry_;
  cluster::Writes& writes_;  // every write goes through here, then to replication
  const Clock& clock_;
  const NodeIdentity& identity_;
  const InitProtect& init_protect_;
  const Access& access_;
  WriteLimit& write_limit_;
  const cluster::Replicator* replicator_;
  const NativeOptions options_;
  std::atomic<int64_t> parked_{0};
  UpInstancesRenderer renderer_;
  std::mutex fetch_all_mu_;  // held while rendering: concurrent callers wait and share the result
  std::shared_ptr<const std::string> fetch_all_;
  uint64_t fetch_all_generation_ = 0;
  int64_t fetch_all_mono_ = 0;
  int64_t fetch_all_wall_ = 0;  // the wall clock its renew_timestamps are measured against
};

}  // namespace muster::api
