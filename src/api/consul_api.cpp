#include "api/consul_api.h"

#include <fmt/format.h>

#include <charconv>
#include <map>
#include <random>

#include "api/consul_agent.h"
#include "api/consul_render.h"
#include "common/ascii_case.h"
#include "common/duration.h"
#include "common/endpoint.h"
#include "common/json_writer.h"
#include "common/utf8.h"
#include "http/params.h"
#include "wire/field_limits.h"

namespace muster::api {

namespace {

using namespace std::chrono_literals;

static_assert(checks::kMaxMetadataBytes == wire::limits::kMetadataBytes);

constexpr auto kDefaultWait = std::chrono::nanoseconds(5min);
constexpr auto kMaxWait = std::chrono::nanoseconds(10min);

http::Response error(int status, std::string message) {
  return http::Response::text(status, std::move(message));
}

// A Consul read's answer: JSON, the index, and the leader headers the Go client parses.
http::Response answer(std::string body, uint64_t index) {
  http::Response r;
  r.body = std::move(body);
  r.headers.push_back({"X-Consul-Index", std::to_string(index)});
  r.headers.push_back({"X-Consul-KnownLeader", "true"});
  r.headers.push_back({"X-Consul-LastContact", "0"});
  return r;
}

// strconv.ParseBool's values; nullopt for anything else.
std::optional<bool> parse_bool(std::string_view v) {
  for (std::string_view t : {"1", "t", "T", "true", "TRUE", "True"})
    if (v == t) return true;
  for (std::string_view f : {"0", "f", "F", "false", "FALSE", "False"})
    if (v == f) return false;
  return std::nullopt;
}

// The percent-decoded rest of `path` after `prefix` (the name may hold '/'); nullopt on a bad
// escape.
std::optional<std::string> path_name(std::string_view path, std::string_view prefix) {
  return http::percent_decode_path(path.substr(prefix.size()));
}

// A blocking query parked in the session (Consul's blocking queries): answered as soon as the
// index passes the client's, or with the current data at its deadline. An index this node has
// not reached (the client read it from another node) waits too, as in Consul: answering it at
// once made a client that alternates nodes loop without pause (issue 26).
class BlockingRead final : public http::Deferred {
 public:
  BlockingRead(std::shared_ptr<ConsulWatch> watch, std::string env, std::string appid,
               uint64_t seen, std::chrono::steady_clock::time_point deadline,
               std::function<uint64_t()> index_now, std::function<http::Response()> render)
      : watch_(std::move(watch)),
        env_(std::move(env)),
        appid_(std::move(appid)),
        seen_(seen),
        deadline_(deadline),
        index_now_(std::move(index_now)),
        render_(std::move(render)) {}
  ~BlockingRead() override { release(); }

  std::chrono::steady_clock::time_point deadline() const override { return deadline_; }
  std::optional<http::Response> attach(std::shared_ptr<http::Wakeup> wakeup) override {
    id_ = watch_->watch(env_, appid_, std::move(wakeup));
    return check();  // a change between the first check and now
  }
  std::optional<http::Response> on_wake() override { return check(); }
  http::Response on_timeout() override {
    release();
    return render_();
  }
  void on_abandon() override { release(); }

 private:
  std::optional<http::Response> check() {
    if (index_now_() <= seen_) return std::nullopt;
    release();
    return render_();
  }
  void release() {
    if (id_ != 0) watch_->unwatch(id_);
    id_ = 0;
  }

  std::shared_ptr<ConsulWatch> watch_;
  const std::string env_, appid_;
  const uint64_t seen_;
  const std::chrono::steady_clock::time_point deadline_;
  std::function<uint64_t()> index_now_;
  std::function<http::Response()> render_;
  uint64_t id_ = 0;
};

}  // namespace

struct ConsulQuery {
  std::string env, zone;
  consul::EntryFilter filter;
  std::optional<uint64_t> index;
  std::chrono::nanoseconds wait{kDefaultWait};
  std::string note;  // a TTL update's output (pass, warn, fail)
};

namespace {

// Reads the query string of a read into `q`; the 400 that says what is wrong with it, if any.
std::optional<http::Response> parse_query(const http::Request& request,
                                          const NodeIdentity& identity, ConsulQuery& q) {
  http::Params params;
  if (auto err = http::parse_urlencoded(request.query, params))
    return error(400, "Invalid query string: " + *err);
  for (const auto& [k, v] : params.pairs())
    if (!valid_utf8(k) || !valid_utf8(v)) return error(400, "Query parameters must be UTF-8");
  if (params.first("stale") && params.first("consistent"))
    return error(400, "Cannot specify ?stale with ?consistent, conflicting semantics.");
  q.env = std::string(params.first("ns").value_or(identity.env));
  q.zone = std::string(params.first("dc").value_or(identity.zone));
  // The native API's limits: an env or zone is what every instance of it carries.
  if (q.env.empty() || q.env.size() > wire::limits::kZone)
    return error(400, "Invalid ns: 1 to 64 bytes");
  if (q.zone.empty() || q.zone.size() > wire::limits::kZone)
    return error(400, "Invalid dc: 1 to 64 bytes");
  q.filter.zone = q.zone;
  q.note = std::string(params.first("note").value_or(""));
  if (auto index = params.first("index")) {
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(index->data(), index->data() + index->size(), v);
    if (index->empty() || ec != std::errc() || end != index->data() + index->size())
      return error(400, "Invalid index");
    q.index = v;
  }
  if (auto wait = params.first("wait")) {
    const auto d = parse_duration(*wait);
    if (!d) return error(400, "Invalid wait time");
    q.wait = d->count() <= 0 ? kDefaultWait : std::min(*d, kMaxWait);
  }
  if (auto passing = params.first("passing")) {
    if (passing->empty()) {
      q.filter.passing = true;
    } else if (auto b = parse_bool(*passing)) {
      q.filter.passing = *b;
    } else {
      return error(400, "Invalid value for ?passing");
    }
  }
  for (std::string_view tag : params.all_raw("tag"))
    q.filter.tags.emplace_back(tag);
  for (std::string_view pair : params.all_raw("node-meta")) {
    const size_t colon = pair.find(':');
    if (colon == std::string_view::npos)
      return error(400, "Invalid node-meta \"" + std::string(pair) + "\": want key:value");
    q.filter.node_meta.emplace_back(pair.substr(0, colon), pair.substr(colon + 1));
  }
  return std::nullopt;
}

}  // namespace

ConsulApi::ConsulApi(const ApiContext& context, const ConsulOptions& options)
    : registry_(context.registry),
      writes_(context.writes),
      clock_(context.clock),
      identity_(context.identity),
      replicator_(context.replicator),
      watch_(std::make_shared<ConsulWatch>(context.registry)),
      access_(context.access),
      write_limit_(context.write_limit),
      index_(context.identity.zone),
      check_writes_(context.registry, context.writes, context.clock, index_),
      check_requests_(options.check_requests),
      runner_(context.registry, index_, check_writes_, context.clock, context.replicator,
              checks::RunnerOptions{context.identity.zone, context.identity.advertise_addr,
                                    std::chrono::milliseconds(250), options.reap_floor,
                                    options.max_probes_in_flight, options.check_requests}) {
  context.registry.add_observer(&index_, true);
  // The watch may outlive the API in a parked query's hands; the registry tells it only until
  // the destructor below.
  context.registry.add_observer(watch_.get(), false);
  if (options.run_checks) runner_.start();
}

ConsulApi::~ConsulApi() {
  runner_.stop();
  registry_.remove_observer(&index_);
  registry_.remove_observer(watch_.get());
}

void ConsulApi::add_routes(http::Router& router) {
  // Reads need a read token (when read tokens are configured); writes check theirs once they know
  // the service they write.
  const auto read = [&](std::string_view method, std::string_view path, bool prefix, auto fn) {
    auto handler = [this, fn](const http::Request& r) -> http::Outcome {
      if (auto no = refused(r, Need::kRead)) return std::move(*no);
      return fn(r);
    };
    if (prefix)
      router.add_prefix(method, path, std::move(handler));
    else
      router.add(method, path, std::move(handler));
  };
  read("GET", "/v1/agent/self", false, [this](const http::Request& r) { return agent_self(r); });
  read("GET", "/v1/status/leader", false,
       [this](const http::Request& r) { return status_leader(r); });
  read("GET", "/v1/status/peers", false,
       [this](const http::Request& r) { return status_peers(r); });
  read("GET", "/v1/catalog/services", false,
       [this](const http::Request& r) { return catalog_services(r); });
  read("GET", "/v1/catalog/nodes", false,
       [this](const http::Request& r) { return catalog_nodes(r); });
  read("GET", "/v1/agent/services", false,
       [this](const http::Request& r) { return agent_services(r); });
  read("GET", "/v1/agent/checks", false,
       [this](const http::Request& r) { return agent_checks(r); });
  read("GET", "/v1/health/service/", true,
       [this](const http::Request& r) { return service_entries(r, Entries::kHealth); });
  read("GET", "/v1/catalog/service/", true,
       [this](const http::Request& r) { return service_entries(r, Entries::kCatalog); });
  read("GET", "/v1/health/checks/", true,
       [this](const http::Request& r) { return service_entries(r, Entries::kChecks); });
  // Writes say when they reached memory only (tell_if_memory_only).
  const auto write = [&](std::string_view method, std::string_view path, bool prefix, auto fn) {
    auto handler = [this, fn](const http::Request& r) -> http::Outcome {
      return tell_if_memory_only(writes_, fn(r));
    };
    if (prefix)
      router.add_prefix(method, path, std::move(handler));
    else
      router.add(method, path, std::move(handler));
  };
  write("PUT", "/v1/agent/service/register", false,
        [this](const http::Request& r) { return register_service(r); });
  // GET as well as PUT for deregister, pass, warn and fail: python-consul 0.7.1 sends GET (a
  // deviation from Consul, which answers 405).
  for (const char* method : {"PUT", "GET"}) {
    write(method, "/v1/agent/service/deregister/", true,
          [this](const http::Request& r) { return deregister_service(r); });
    for (const char* verb : {"pass", "warn", "fail"}) {
      write(method, std::string("/v1/agent/check/") + verb + "/", true,
            [this](const http::Request& r) { return update_check(r); });
    }
    write(method, "/v1/agent/check/deregister/", true,
          [this](const http::Request& r) { return deregister_check(r); });
  }
  write("PUT", "/v1/agent/check/register", false,
        [this](const http::Request& r) { return register_check(r); });
  write("PUT", "/v1/agent/check/update/", true,
        [this](const http::Request& r) { return update_check(r); });
}

std::optional<http::Response> ConsulApi::refused_write(const http::Request& request,
                                                       std::string_view appid) const {
  if (auto no = refused(request, Need::kWrite, appid)) return no;
  if (!write_limit_.allow(request.remote)) return error(429, write_limit_.refusal(request.remote));
  return std::nullopt;
}

std::optional<http::Response> ConsulApi::refused(const http::Request& request, Need need,
                                                 std::string_view appid) const {
  const Verdict v = access_.check(consul_token(request), need, appid, request.peer_certified);
  if (v == Verdict::kAllowed) return std::nullopt;
  // Consul's words: an unknown token is "ACL not found", anything else "Permission denied".
  return error(403, v == Verdict::kUnknown
                        ? std::string("ACL not found")
                        : "Permission denied: " + std::string(verdict_message(v)));
}

std::optional<http::Response> ConsulApi::reject_body(std::string_view path,
                                                     std::string message) const {
  if (!path.starts_with("/v1/")) return std::nullopt;
  return error(413, std::move(message));
}

void ConsulApi::write_metrics(metrics::TextWriter& out) const {
  out.family("muster_consul_blocking_queries");
  out.sample("muster_consul_blocking_queries", static_cast<double>(watch_->watching()));
  out.family("muster_consul_checks_owned");
  out.sample("muster_consul_checks_owned", static_cast<double>(runner_.owned()));
  out.family("muster_consul_check_probes_total");
  out.sample("muster_consul_check_probes_total", static_cast<double>(runner_.probes()));
  out.family("muster_consul_check_probes_in_flight");
  out.sample("muster_consul_check_probes_in_flight", static_cast<double>(runner_.in_flight()));
  out.family("muster_consul_check_probes_deferred_total");
  out.sample("muster_consul_check_probes_deferred_total", static_cast<double>(runner_.deferred()));
}

http::Outcome ConsulApi::agent_self(const http::Request&) const {
  const auto advertised = parse_host_port(identity_.advertise_addr).value_or(Endpoint{});
  const std::string& host = advertised.host;
  const std::string port = std::to_string(advertised.port);
  std::string out = "{\"Config\":{\"Datacenter\":";
  json::append_string(out, identity_.zone);
  out += ",\"PrimaryDatacenter\":";
  json::append_string(out, identity_.zone);
  out += ",\"NodeName\":";
  json::append_string(out, identity_.hostname);
  out +=
      ",\"NodeID\":\"\",\"Revision\":\"muster\",\"Server\":true,\"Version\":\"1.15.0\","
      "\"BuildDate\":\"\"},\"Member\":{\"Name\":";
  json::append_string(out, identity_.hostname);
  out += ",\"Addr\":";
  json::append_string(out, host);
  out += ",\"Port\":" + port +
         ",\"Tags\":{},\"Status\":1,\"ProtocolMin\":1,\"ProtocolMax\":5,\"ProtocolCur\":2,"
         "\"DelegateMin\":2,\"DelegateMax\":5,\"DelegateCur\":4},\"DebugConfig\":{},"
         "\"Coord\":null,\"Stats\":{},\"Meta\":{}}";
  http::Response r;
  r.body = std::move(out);
  return r;
}

http::Outcome ConsulApi::status_leader(const http::Request&) const {
  http::Response r;
  json::append_string(r.body, identity_.advertise_addr);
  return r;
}

http::Outcome ConsulApi::status_peers(const http::Request&) const {
  http::Response r;
  r.body = "[";
  if (replicator_ != nullptr) {
    for (const auto& n : replicator_->same_zone_nodes()) {
      if (r.body.size() > 1) r.body.push_back(',');
      json::append_string(r.body, n.addr);
    }
  } else {
    json::append_string(r.body, identity_.advertise_addr);
  }
  r.body.push_back(']');
  return r;
}

http::Outcome ConsulApi::blocking(const ConsulQuery& q, std::string appid,
                                  std::function<http::Response()> render) const {
  std::function<uint64_t()> index_now;
  if (appid.empty()) {
    index_now = [watch = watch_] { return watch->catalog_index(); };
  } else {
    index_now = [watch = watch_, env = q.env, appid] { return watch->app_index(env, appid); };
  }
  // No index (or 0), or one below ours: at once.
  if (!q.index || *q.index == 0 || *q.index < index_now()) return render();
  // Consul's jitter, up to wait/16, spreads the answers of queries parked together.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const auto jitter =
      std::chrono::nanoseconds(std::uniform_int_distribution<int64_t>(0, q.wait.count() / 16)(rng));
  std::unique_ptr<http::Deferred> parked = std::make_unique<BlockingRead>(
      watch_, q.env, std::move(appid), *q.index, std::chrono::steady_clock::now() + q.wait + jitter,
      std::move(index_now), std::move(render));
  return parked;
}

http::Outcome ConsulApi::catalog_services(const http::Request& request) const {
  ConsulQuery q;
  if (auto bad = parse_query(request, identity_, q)) return std::move(*bad);
  return blocking(q, "", [this, q] {
    const uint64_t index = watch_->catalog_index();
    std::string out = "{";
    for (const auto& [appid, env] : registry_.app_names()) {
      if (env != q.env) continue;
      bool listed = false;
      std::vector<std::string> tags;  // the union over the app's instances in the zone
      registry_.read_app(env, appid, [&](const registry::App& app) {
        for (const auto& [zone, z] : app.zones) {
          if (!q.zone.empty() && zone != q.zone) continue;
          for (const auto& [host, inst] : z.instances) {
            listed = true;
            for (auto& t : consul::tags_of(inst))
              if (std::find(tags.begin(), tags.end(), t) == tags.end())
                tags.push_back(std::move(t));
          }
        }
      });
      if (!listed) continue;
      if (out.size() > 1) out.push_back(',');
      json::append_string(out, appid);
      out += ":" + consul::tags_value(tags);
    }
    out.push_back('}');
    return answer(std::move(out), index);
  });
}

namespace {

// Consul's answer to a write: 200, an empty body and no Content-Type.
http::Response written() {
  http::Response r;
  r.content_type = "";
  return r;
}

}  // namespace

http::Outcome ConsulApi::register_service(const http::Request& request) const {
  ConsulQuery q;
  if (auto bad = parse_query(request, identity_, q)) return std::move(*bad);
  const int64_t now_ms = clock_.wall_ns() / 1'000'000;
  auto made = consul::registration(request.body, identity_, q.env, now_ms);
  if (auto* problem = std::get_if<std::string>(&made)) return error(400, *problem);
  auto& [args, list] = std::get<consul::Registration>(made);
  if (auto no = refused_write(request, args.appid)) return std::move(*no);
  for (const auto& check : list) {
    if (auto no = checks::allowed_problem(check, check_requests_); !no.empty())
      return error(400, no);
  }
  // A service ID names one service in its env and zone (Consul's rule): registering it under
  // another name replaces that service, which takes the right to write it too (issue 27.5: a
  // team could otherwise shadow another's ID, and lookups by ID find one or the other).
  std::optional<cluster::InstanceId> replaced = agent_service(args.env, args.hostname);
  if (replaced && replaced->appid == args.appid) replaced.reset();
  if (replaced && refused(request, Need::kWrite, replaced->appid)) {
    return error(403, "Permission denied: service ID \"" + args.hostname + "\" is " +
                          replaced->appid + "'s, which this token may not write");
  }
  if (!list.empty()) {
    // A check registered again keeps its state (Consul does).
    registry_.read_instance({args.zone, args.env, args.appid, args.hostname},
                            [&list](const registry::Instance& inst) {
                              checks::keep_state(checks::checks_of(inst), list);
                            });
    // Room for every check's longest output, so that no later result can overflow the
    // instance's metadata (which peers would refuse).
    size_t bytes = checks::reserved_bytes(list);
    for (const auto& [k, v] : args.metadata)
      bytes += k.size() + v.size();
    args.metadata.emplace_back(std::string(checks::kChecksKey), checks::check_list_json(list));
    if (bytes > wire::limits::kMetadataBytes)
      return error(400, "Invalid check: the checks, Meta and Tags need over 8192 bytes together");
    std::sort(args.metadata.begin(), args.metadata.end());
    args.status = checks::instance_status(list);
  }
  if (replaced) writes_.cancel(replaced->view(), cluster::Origin::kClient);
  writes_.register_instance(std::move(args), cluster::Origin::kClient);
  return written();
}

http::Outcome ConsulApi::deregister_service(const http::Request& request) const {
  const auto id = path_name(request.path, "/v1/agent/service/deregister/");
  if (!id || id->empty() || !valid_utf8(*id)) return error(400, "Missing service ID");
  ConsulQuery q;
  if (auto bad = parse_query(request, identity_, q)) return std::move(*bad);
  const auto found = agent_service(q.env, *id);
  if (found) {
    if (auto no = refused_write(request, found->appid)) return std::move(*no);
  }
  if (!found || !writes_.cancel(found->view(), cluster::Origin::kClient)) {
    return error(404, "Unknown service ID \"" + *id +
                          "\". Ensure that the service ID is passed, not the service name.");
  }
  return written();
}

std::string ConsulApi::service_appid(const std::string& env, const std::string& name) const {
  if (registry_.read_app(env, name, [](const registry::App&) {})) return name;
  for (const auto& [appid, app_env] : registry_.app_names())
    if (app_env == env && equal_without_case(appid, name)) return appid;
  return name;  // not there (yet): waits for that spelling
}

std::optional<cluster::InstanceId> ConsulApi::agent_service(const std::string& env,
                                                            const std::string& id) const {
  // A Consul service ID names one registration of this zone and env: the instance without
  // heartbeat with that hostname, in whichever app.
  return index_.service(env, id);
}

http::Outcome ConsulApi::register_check(const http::Request& request) {
  ConsulQuery q;
  if (auto bad = parse_query(request, identity_, q)) return std::move(*bad);
  auto parsed = consul::check_registration(request.body);
  if (auto* problem = std::get_if<std::string>(&parsed)) return error(400, *problem);
  auto& [check, service_id] = std::get<consul::CheckRegistration>(parsed);
  const auto found = agent_service(q.env, service_id);
  const std::string unknown = "ServiceID \"" + service_id + "\" does not exist";
  if (!found) return error(404, unknown);
  if (auto no = refused_write(request, found->appid)) return std::move(*no);
  if (auto no = checks::allowed_problem(check, check_requests_); !no.empty()) return error(400, no);
  check.since_ms = check.reset_ms = clock_.wall_ns() / 1'000'000;
  const auto put = check_writes_.put(*found, std::move(check));
  if (!put) return error(404, unknown);
  if (!put->empty()) return error(400, *put);
  return written();
}

http::Outcome ConsulApi::deregister_check(const http::Request& request) {
  const auto id = path_name(request.path, "/v1/agent/check/deregister/");
  if (!id || id->empty() || !valid_utf8(*id)) return error(400, "Missing check ID");
  ConsulQuery q;
  if (auto bad = parse_query(request, identity_, q)) return std::move(*bad);
  const auto found = check_writes_.find(q.env, *id);
  if (found) {
    if (auto no = refused_write(request, found->instance.appid)) return std::move(*no);
  }
  if (!found || !check_writes_.remove(found->instance, *id))
    return error(404, "Unknown check ID \"" + *id +
                          "\". Ensure that the check ID is passed, not the check name.");
  return written();
}

http::Outcome ConsulApi::update_check(const http::Request& request) {
  // /v1/agent/check/<verb>/<check id>
  const std::string_view rest = std::string_view(request.path).substr(16);
  const std::string_view verb = rest.substr(0, rest.find('/'));
  const auto id = path_name(request.path, "/v1/agent/check/" + std::string(verb) + "/");
  if (!id || id->empty() || !valid_utf8(*id)) return error(400, "Missing check ID");
  ConsulQuery q;
  if (auto bad = parse_query(request, identity_, q)) return std::move(*bad);
  checks::Status status = checks::Status::kPassing;
  std::string output;
  if (verb == "update") {
    auto parsed = consul::check_update_body(request.body);
    if (auto* problem = std::get_if<std::string>(&parsed)) return error(400, *problem);
    std::tie(status, output) = std::get<std::pair<checks::Status, std::string>>(parsed);
  } else {
    status = verb == "pass"   ? checks::Status::kPassing
             : verb == "warn" ? checks::Status::kWarning
                              : checks::Status::kCritical;
    output = std::move(q.note);
  }
  if (!valid_utf8(output)) return error(400, "Invalid check output: not UTF-8");
  const auto found = check_writes_.find(q.env, *id);
  const std::string unknown =
      "Unknown check ID \"" + *id + "\". Ensure that the check ID is passed, not the check name.";
  if (!found) return error(404, unknown);
  if (auto no = refused_write(request, found->instance.appid)) return std::move(*no);
  if (found->check.type != checks::Type::kTtl)
    return error(500, "CheckID \"" + *id + "\" does not have associated TTL");
  if (check_writes_.update(found->instance, *id, status, output, true) ==
      checks::UpdateResult::kNotFound)
    return error(404, unknown);
  return written();
}

http::Outcome ConsulApi::agent_checks(const http::Request& request) const {
  ConsulQuery q;
  if (auto bad = parse_query(request, identity_, q)) return std::move(*bad);
  const uint64_t index = watch_->catalog_index();
  std::string out = "{";
  // Only Consul registrations: a native instance was not registered with an agent.
  checks::visit_agent_instances(
      registry_, identity_.zone, q.env,
      [&](const registry::App& app, const std::string&, const registry::Instance& inst) {
        for (const checks::Check& c : checks::checks_of(inst)) {
          if (out.size() > 1) out.push_back(',');
          json::append_string(out, c.id);
          out.push_back(':');
          consul::append_check(out, app, inst, c, index);
        }
        return true;
      });
  out.push_back('}');
  http::Response r;
  r.body = std::move(out);
  return r;
}

http::Outcome ConsulApi::agent_services(const http::Request& request) const {
  ConsulQuery q;
  if (auto bad = parse_query(request, identity_, q)) return std::move(*bad);
  std::string out = "{";
  checks::visit_agent_instances(
      registry_, identity_.zone, q.env,
      [&](const registry::App& app, const std::string& host, const registry::Instance& inst) {
        if (out.size() > 1) out.push_back(',');
        json::append_string(out, host);
        out.push_back(':');
        consul::append_agent_service(out, app, identity_.zone, inst);
        return true;
      });
  out.push_back('}');
  http::Response r;
  r.body = std::move(out);
  return r;
}

http::Outcome ConsulApi::catalog_nodes(const http::Request& request) const {
  ConsulQuery q;
  if (auto bad = parse_query(request, identity_, q)) return std::move(*bad);
  q.filter.show_checks = false;
  return blocking(q, "", [this, q] {
    const uint64_t index = watch_->catalog_index();
    // Every instance is its own node, named by its hostname: one entry per hostname.
    std::map<std::string, std::string, std::less<>> nodes;
    for (const auto& [appid, env] : registry_.app_names()) {
      if (env != q.env) continue;
      registry_.read_app(env, appid, [&](const registry::App& app) {
        for (const auto& [zone, z] : app.zones) {
          for (const auto& [host, inst] : z.instances) {
            if (nodes.contains(host)) continue;
            const auto view = consul::matches(q.filter, zone, inst);
            if (view) consul::append_node(nodes[host], zone, inst, view->address, index);
          }
        }
      });
    }
    std::string out = "[";
    for (const auto& [host, node] : nodes) {
      if (out.size() > 1) out.push_back(',');
      out += node;
    }
    out.push_back(']');
    return answer(std::move(out), index);
  });
}

http::Outcome ConsulApi::service_entries(const http::Request& request, Entries kind) const {
  const std::string_view prefix = kind == Entries::kHealth    ? "/v1/health/service/"
                                  : kind == Entries::kCatalog ? "/v1/catalog/service/"
                                                              : "/v1/health/checks/";
  const auto name = path_name(request.path, prefix);
  if (!name) return error(400, "Invalid service name: a bad percent escape");
  if (name->empty()) return error(400, "Missing service name");
  if (!valid_utf8(*name)) return error(400, "Invalid service name: not UTF-8");
  ConsulQuery q;
  if (auto bad = parse_query(request, identity_, q)) return std::move(*bad);
  q.filter.show_checks = kind != Entries::kCatalog;
  const std::string appid = service_appid(q.env, *name);
  return blocking(q, appid, [this, q, appid, kind] {
    const uint64_t index = watch_->app_index(q.env, appid);
    std::string out = "[";
    registry_.read_app(q.env, appid, [&](const registry::App& app) {
      for (const auto& [zone, z] : app.zones) {
        for (const auto& [host, inst] : z.instances) {
          const auto view = consul::matches(q.filter, zone, inst);
          if (!view) continue;
          if (out.size() > 1) out.push_back(',');
          if (kind == Entries::kHealth)
            consul::append_health_entry(out, app, zone, inst, *view, index);
          else if (kind == Entries::kCatalog)
            consul::append_catalog_entry(out, app, zone, inst, view->address, index);
          else
            consul::append_checks(out, app, inst, view->checks, index);
        }
      }
    });
    out.push_back(']');
    return answer(std::move(out), index);
  });
}

}  // namespace muster::api
