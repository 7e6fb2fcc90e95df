#include "api/native_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "api/envelope.h"
#include "api/native_bind.h"
#include "api/poll_call.h"
#include "cluster/http_get.h"
#include "common/json_writer.h"

namespace muster::api {
namespace {

constexpr std::string_view kInitProtectMessage = "init protect: reads refused until syncup";

// Binds a request with `bind`, or answers -400 with the binding's message.
template <typename Bind>
auto bind_or_error(const http::Request& request, Bind bind)
    -> std::variant<std::decay_t<decltype(std::get<0>(bind(std::declval<http::Params&>())))>,
                    http::Response> {
  auto params = bind_params(request);
  if (auto* err = std::get_if<std::string>(&params)) return bad_request(*err);
  auto bound = bind(std::get<http::Params>(params));
  if (auto* err = std::get_if<std::string>(&bound)) return bad_request(*err);
  return std::move(std::get<0>(bound));
}

}  // namespace

NativeApi::NativeApi(const ApiContext& context, NativeOptions options)
    : registry_(context.registry),
      writes_(context.writes),
      clock_(context.clock),
      identity_(context.identity),
      init_protect_(context.init_protect),
      access_(context.access),
      write_limit_(context.write_limit),
      replicator_(context.replicator),
      options_(options) {}

http::Response NativeApi::too_many_appids(size_t n) const {
  return bad_request("too many appids: " + std::to_string(n) + " (limit " +
                     std::to_string(options_.max_poll_appids) + ")");
}

std::optional<std::string> NativeApi::check_timestamp(std::string_view name, int64_t value) const {
  // A peer's clock may run ahead of ours, but not by more than this: a timestamp far in the
  // future would pin an instance against its owner's writes (issue 15.4).
  constexpr int64_t kMaxAhead = int64_t{3600} * 1'000'000'000;
  if (value < 0) return std::string(name) + " must not be negative";
  if (value > clock_.wall_ns() + kMaxAhead)
    return std::string(name) + " is more than 1h ahead of this node's clock";
  return std::nullopt;
}

std::optional<http::Response> NativeApi::reject_body(std::string_view path,
                                                     std::string message) const {
  if (!path.starts_with("/discovery/")) return std::nullopt;
  http::Response r = bad_request(message);
  r.close = true;
  return r;
}

std::optional<http::Response> NativeApi::refused(const http::Request& request, Need need,
                                                 std::string_view appid) const {
  const Verdict v = access_.check(bearer_token(request), need, appid, request.peer_certified);
  if (v == Verdict::kAllowed) return std::nullopt;
  return envelope(v == Verdict::kForbidden ? kAccessDenied : kUnauthorized, verdict_message(v));
}

Reader NativeApi::reader_of(const http::Request& request) const {
  if (request.peer_certified) return Reader::kPeer;
  // With no token configured nothing is secret (docs/security.md): a peer says it is one.
  if (access_.open())
    return request.header(cluster::kPeerHeader) == "1" ? Reader::kPeer : Reader::kClient;
  return access_.peer_or_admin(bearer_token(request)) ? Reader::kPeer : Reader::kClient;
}

std::optional<http::Response> NativeApi::refused_write(const http::Request& request,
                                                       cluster::Origin origin, Need client_need,
                                                       std::string_view appid) const {
  // Only a peer may replicate: a forged `replication` or `from_zone` is refused (issue 18).
  if (auto no =
          refused(request, origin == cluster::Origin::kClient ? client_need : Need::kPeer, appid))
    return no;
  if (origin == cluster::Origin::kClient && !write_limit_.allow(request.remote)) {
    return envelope(kLimitExceeded, write_limit_.refusal(request.remote));
  }
  return std::nullopt;
}

void NativeApi::add_routes(http::Router& router) {
  // Reads check their token before binding; writes after, once the appid and origin are known.
  auto route = [&](std::string_view method, std::string_view path, auto member, bool protect,
                   std::optional<Need> read_need) {
    router.add(method, path,
               [this, member, protect, read_need](const http::Request& r) -> http::Outcome {
                 if (read_need) {
                   if (auto no = refused(r, *read_need)) return std::move(*no);
                 }
                 if (protect && init_protected())
                   return envelope(kInitProtect, kInitProtectMessage);
                 if (r.method == "POST") return tell_if_memory_only(writes_, (this->*member)(r));
                 return (this->*member)(r);
               });
  };
  route("POST", "/discovery/register", &NativeApi::handle_register, false, std::nullopt);
  route("POST", "/discovery/renew", &NativeApi::handle_renew, false, std::nullopt);
  route("POST", "/discovery/cancel", &NativeApi::handle_cancel, false, std::nullopt);
  route("POST", "/discovery/set", &NativeApi::handle_set, false, std::nullopt);
  route("GET", "/discovery/fetch", &NativeApi::handle_fetch, true, Need::kRead);
  route("GET", "/discovery/fetchs", &NativeApi::handle_fetchs, true, Need::kRead);
  route("GET", "/discovery/fetch/all", &NativeApi::handle_fetch_all, true, Need::kPeerOrAdmin);
  route("GET", "/discovery/nodes", &NativeApi::handle_nodes, true, Need::kRead);
  route("GET", "/discovery/digests", &NativeApi::handle_digests, true, Need::kPeerOrAdmin);
  router.add("GET", "/discovery/poll", [this](const http::Request& r) -> http::Outcome {
    if (auto no = refused(r, Need::kRead)) return std::move(*no);
    if (init_protected()) return envelope(kInitProtect, kInitProtectMessage);
    return handle_poll(r, true);
  });
  router.add("GET", "/discovery/polls", [this](const http::Request& r) -> http::Outcome {
    if (auto no = refused(r, Need::kRead)) return std::move(*no);
    if (init_protected()) return envelope(kInitProtect, kInitProtectMessage);
    return handle_poll(r, false);
  });
}

http::Outcome NativeApi::handle_register(const http::Request& request) {
  auto bound = bind_or_error(request, bind_register);
  if (auto* err = std::get_if<http::Response>(&bound)) return std::move(*err);
  auto& r = std::get<RegisterRequest>(bound);
  const auto origin = cluster::origin_of(r.replication, r.from_zone);
  if (auto no = refused_write(request, origin, Need::kWrite, r.args.appid)) return std::move(*no);
  // A client's dirty_timestamp is ignored (the write path stamps it); a peer's must be sane.
  if (origin != cluster::Origin::kClient) {
    if (auto err = check_timestamp("dirty_timestamp", r.args.dirty_timestamp))
      return bad_request(*err);
    if (r.args.lease_age_ns && *r.args.lease_age_ns < 0)
      return bad_request("renew_age must not be negative");
  } else {
    r.args.lease = true;  // only a peer carries an instance without heartbeat (the Consul API's)
    r.args.lease_age_ns.reset();  // nor a lease other than a fresh one
  }
  writes_.register_instance(std::move(r.args), origin);
  return ok();
}

http::Outcome NativeApi::handle_renew(const http::Request& request) {
  auto bound = bind_or_error(request, [](const http::Params& p) { return bind_instance(p, true); });
  if (auto* err = std::get_if<http::Response>(&bound)) return std::move(*err);
  const auto& r = std::get<InstanceRequest>(bound);
  if (auto no = refused_write(request, cluster::origin_of(r.replication, r.from_zone), Need::kWrite,
                              r.key().appid))
    return std::move(*no);
  if (auto err = check_timestamp("dirty_timestamp", r.dirty_timestamp)) return bad_request(*err);
  const auto origin = cluster::origin_of(r.replication, r.from_zone);
  if (r.lease_age_ns && *r.lease_age_ns < 0) return bad_request("renew_age must not be negative");
  // Only a peer's renew carries a lease older than now (a client's renew is the renew).
  const auto lease_age = origin == cluster::Origin::kClient ? std::nullopt : r.lease_age_ns;
  std::optional<http::Response> answer;
  const auto outcome = writes_.renew(
      r.key(), origin, r.dirty_timestamp, lease_age,
      [&](registry::RenewOutcome o, const registry::Instance& inst) {
        const auto render = [&](std::string& out) {
          append_instance(out, inst, 0,
                          origin == cluster::Origin::kClient ? Reader::kClient : Reader::kPeer);
        };
        // Every answer about a found instance carries it as data, as Bilibili's do.
        switch (o) {
          case registry::RenewOutcome::kOk:
            answer = envelope_with(kOk, "0", render);
            break;
          case registry::RenewOutcome::kPeerOlder:
            answer = envelope_with(kConflict, "this node's copy is newer", render);
            break;
          default:
            answer =
                envelope_with(kNotFound, "the sender's copy is newer: register it here", render);
            break;
        }
      });
  if (outcome == registry::RenewOutcome::kNotFound || !answer)
    return envelope(kNotFound, "instance not found");
  return std::move(*answer);
}

http::Outcome NativeApi::handle_cancel(const http::Request& request) {
  auto bound =
      bind_or_error(request, [](const http::Params& p) { return bind_instance(p, false); });
  if (auto* err = std::get_if<http::Response>(&bound)) return std::move(*err);
  const auto& r = std::get<InstanceRequest>(bound);
  const auto origin = cluster::origin_of(r.replication, r.from_zone);
  if (auto no = refused_write(request, origin, Need::kWrite, r.key().appid)) return std::move(*no);
  // A peer's cancel removes only a copy that is not newer than the cancel (docs/decisions.md
  // §6.4): a registration that crossed it on the way stays.
  std::optional<int64_t> if_not_newer_than;
  if (origin != cluster::Origin::kClient && r.latest_timestamp > 0) {
    if (auto err = check_timestamp("latest_timestamp", r.latest_timestamp))
      return bad_request(*err);
    if_not_newer_than = r.latest_timestamp;
  }
  if (!writes_.cancel(r.key(), origin, if_not_newer_than))
    return envelope(kNotFound, "instance not found");
  return ok();
}

http::Outcome NativeApi::handle_set(const http::Request& request) {
  auto bound = bind_or_error(request, bind_set);
  if (auto* err = std::get_if<http::Response>(&bound)) return std::move(*err);
  auto& r = std::get<SetRequest>(bound);
  const auto origin = cluster::origin_of(r.replication, r.from_zone);
  if (auto no = refused_write(request, origin, Need::kAdmin, r.args.appid)) return std::move(*no);
  if (origin != cluster::Origin::kClient) {
    if (auto err = check_timestamp("set_timestamp", r.args.set_timestamp)) return bad_request(*err);
  }
  const auto outcome = writes_.set(std::move(r.args), origin);
  if (!outcome.error.empty()) return bad_request(outcome.error);
  return ok();
}

http::Outcome NativeApi::handle_fetch(const http::Request& request) {
  auto bound = bind_or_error(request, [](const http::Params& p) { return bind_fetch(p, false); });
  if (auto* err = std::get_if<http::Response>(&bound)) return std::move(*err);
  const auto& f = std::get<FetchRequest>(bound);
  std::string data;
  bool zone_missing = false;
  // Leases rendered against one reading of the clocks, sent with it (append_instance).
  const int64_t wall = clock_.wall_ns();
  const int64_t wall_offset = wall - clock_.mono_ns();
  const bool found = registry_.read_app(f.env, f.appids[0], [&](const registry::App& app) {
    if (!f.zone.empty() && !app.zones.contains(f.zone)) {
      zone_missing = true;
      data = "{\"instances\":{},\"latest_timestamp\":";
      json::append_int(data, app.latest_timestamp);
      data.push_back('}');
      return;
    }
    append_instance_info(data, app, f.zone, f.status, wall_offset, reader_of(request));
  });
  if (!found) return envelope(kNotFound, f.appids[0] + " not found in env " + f.env);
  if (zone_missing) return envelope(kNotFound, "zone " + f.zone + " not found", data);
  return with_clock(ok(data), wall);
}

http::Outcome NativeApi::handle_fetchs(const http::Request& request) {
  auto bound = bind_or_error(request, [](const http::Params& p) { return bind_fetch(p, true); });
  if (auto* err = std::get_if<http::Response>(&bound)) return std::move(*err);
  const auto& f = std::get<FetchRequest>(bound);
  if (f.appids.size() > options_.max_poll_appids) return too_many_appids(f.appids.size());
  std::string data = "{";
  for (const std::string& appid : f.appids) {
    registry_.read_app(f.env, appid, [&](const registry::App& app) {
      if (!f.zone.empty() && !app.zones.contains(f.zone)) return;
      if (data.size() > 1) data.push_back(',');
      json::append_string(data, appid);
      data.push_back(':');
      if (options_.compat_brpc_fetchs)
        append_instance_info_flat(data, app, f.zone, f.status);
      else
        append_instance_info(data, app, f.zone, f.status);
    });
  }
  data.push_back('}');
  return ok(data);
}

std::shared_ptr<const std::string> NativeApi::render_fetch_all(int64_t wall) const {
  const int64_t wall_offset = wall - clock_.mono_ns();  // see append_instance
  std::string data = "{";
  std::string current;
  bool first = true;  // of the current appid's list
  // App by app, each under its own short hold of the registry lock, so that renews and writes
  // go on while a large answer is rendered (issue 15.6). Each app is consistent; the whole is
  // not a snapshot, which a syncup does not need (every instance carries its own version).
  for (const auto& [appid, env] : registry_.app_names()) {
    if (appid != current) {
      if (!current.empty()) data.push_back(']');
      if (data.size() > 1) data.push_back(',');
      json::append_string(data, appid);
      data += ":[";
      current = appid;
      first = true;
    }
    registry_.read_app(env, appid, [&](const registry::App& app) {
      for (const auto& [name, zone] : app.zones) {
        for (const auto& [host, inst] : zone.instances) {
          if (!first) data.push_back(',');
          first = false;
          append_instance(data, inst, wall_offset, Reader::kPeer);  // a peer-or-admin route
        }
      }
    });
  }
  if (!current.empty()) data.push_back(']');
  data.push_back('}');
  return std::make_shared<const std::string>(std::move(ok(data).body));
}

void NativeApi::on_tick() {
  std::lock_guard lock(fetch_all_mu_);
  if (clock_.mono_ns() - fetch_all_mono_ >= std::chrono::nanoseconds(1s).count())
    fetch_all_.reset();  // answers still sending it keep their reference
}

// A peer measures the leases in a fetch answer against the clock that rendered it (syncup and
// anti-entropy carry them, docs/decisions.md §5.7), whatever the skew between the two clocks.
http::Response NativeApi::with_clock(http::Response r, int64_t rendered_at) {
  r.headers.push_back({"X-Muster-Clock", std::to_string(rendered_at)});
  return r;
}

http::Outcome NativeApi::handle_fetch_all(const http::Request&) {
  std::shared_ptr<const std::string> body;
  int64_t rendered_at = 0;
  {
    // One rendering serves every fetch/all until the registry changes or a second passes (renew
    // timestamps in it may be that old): many clients, slow readers among them, share its bytes,
    // and clients that loop on it cost one rendering a second. on_tick() frees
    // it once it is stale, so that it is not kept beside the registry.
    std::lock_guard lock(fetch_all_mu_);
    const uint64_t generation = registry_.generation();
    const int64_t now = clock_.mono_ns();
    if (!fetch_all_ || fetch_all_generation_ != generation ||
        now - fetch_all_mono_ >= std::chrono::nanoseconds(1s).count()) {
      fetch_all_wall_ = clock_.wall_ns();
      fetch_all_ = render_fetch_all(fetch_all_wall_);
      fetch_all_generation_ = generation;
      fetch_all_mono_ = now;
    }
    body = fetch_all_;
    rendered_at = fetch_all_wall_;
  }
  http::Response r = ok();
  r.body.clear();
  r.shared_body = std::move(body);
  return with_clock(std::move(r), rendered_at);
}

std::chrono::steady_clock::time_point NativeApi::poll_deadline(const http::Request& request) const {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto hold = options_.poll_hold;
  if (options_.poll_jitter.count() > 0) {
    std::uniform_int_distribution<int64_t> jitter(0, options_.poll_jitter.count());
    hold += std::chrono::nanoseconds(jitter(rng));
  }
  // bm's rule: a client that says how long it waits gets its answer 20 ms before that.
  if (auto ms = parse_int(request.header("x1-bmspy-timeout")); ms && *ms > 0) {
    hold = std::min<std::chrono::nanoseconds>(
        hold, std::max<std::chrono::nanoseconds>(std::chrono::milliseconds(*ms - 20), 0ms));
  }
  return std::chrono::steady_clock::now() + hold;
}

http::Outcome NativeApi::handle_poll(const http::Request& request, bool single) {
  auto bound =
      bind_or_error(request, [single](const http::Params& p) { return bind_poll(p, single); });
  if (auto* err = std::get_if<http::Response>(&bound)) return std::move(*err);
  auto& query = std::get<registry::PollQuery>(bound);
  if (query.appids.size() > options_.max_poll_appids) return too_many_appids(query.appids.size());
  auto call = std::make_unique<PollCall>(registry_, renderer_, std::move(query),
                                         poll_deadline(request), parked_);
  if (auto now = call->arrive()) return std::move(*now);
  if (parked_.load() > static_cast<int64_t>(options_.max_parked_polls)) {
    return bad_request("too many parked polls (limit " + std::to_string(options_.max_parked_polls) +
                       ")");  // `call` unparks itself as it goes
  }
  return std::unique_ptr<http::Deferred>(std::move(call));
}

http::Outcome NativeApi::handle_nodes(const http::Request&) {
  std::vector<cluster::NodeView> nodes{{identity_.advertise_addr, cluster::PeerStatus::kUp}};
  if (replicator_ != nullptr) nodes = replicator_->same_zone_nodes();
  std::string data = "[";
  for (const cluster::NodeView& n : nodes) {
    if (data.size() > 1) data.push_back(',');
    data += "{\"addr\":";
    json::append_string(data, n.addr);
    data += ",\"status\":";
    json::append_int(data, static_cast<int>(n.status));
    data += ",\"zone\":";
    json::append_string(data, identity_.zone);
    data.push_back('}');
  }
  data.push_back(']');
  return ok(data);
}

// muster's own route for anti-entropy: per app, its instance count, digest (hex) and Consul index,
// sorted.
http::Outcome NativeApi::handle_digests(const http::Request&) {
  auto digests = registry_.digests();
  std::sort(digests.begin(), digests.end(), [](const auto& a, const auto& b) {
    return std::tie(a.appid, a.env) < std::tie(b.appid, b.env);
  });
  std::string data = "[";
  data.reserve(digests.size() * 80);
  for (const registry::AppDigest& d : digests) {
    if (data.size() > 1) data.push_back(',');
    data += "{\"appid\":";
    json::append_string(data, d.appid);
    data += ",\"env\":";
    json::append_string(data, d.env);
    data += ",\"instances\":";
    json::append_int(data, static_cast<int64_t>(d.instances));
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(d.digest));
    data += ",\"digest\":\"";
    data += hex;
    data += "\",\"index\":";
    json::append_int(data, static_cast<int64_t>(d.index));
    data.push_back('}');
  }
  data.push_back(']');
  return ok(data);
}

}  // namespace muster::api
