#include "cli/serve.h"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <memory>

#include "api/envelope.h"
#include "api/metrics_api.h"
#include "api/native_api.h"
#include "cluster/anti_entropy.h"
#include "cluster/cluster_options.h"
#include "cluster/replicator.h"
#include "cluster/self_address.h"
#include "cluster/self_registration.h"
#include "common/duration.h"
#include "http/server.h"
#include "registry/registry.h"

namespace muster::cli {
namespace {

struct ServeFlags {
  std::string config;
  std::string listen = "127.0.0.1:7171";
  std::string advertise;
  std::string region = "local";
  std::string zone = "local";
  std::string env = "dev";
  std::string hostname;
  unsigned threads = 0;
  std::string poll_hold = "30s";
  std::string poll_jitter = "2s";
  std::string evict_after = "90s";
  std::string evict_interval = "60s";
  std::string evict_ceiling = "1h";
  bool self_protection = true;
  double protect_ratio = 0.85;
  int64_t protect_min_instances = 20;
  bool init_protect = false;
  std::string init_protect_timeout = "60s";
  std::string idle_timeout = "90s";
  std::string request_timeout = "10s";
  std::string write_timeout = "30s";
  size_t max_body = 1024 * 1024;
  size_t max_header = 16 * 1024;
  size_t max_connections = 50'000;
  size_t max_unsent_bytes = 256 * 1024 * 1024;
  size_t max_parked_polls = 50'000;
  size_t max_poll_appids = 1000;
  bool compat_brpc_fetchs = false;
  bool access_log = false;
  std::string log_level = "info";
  std::string nodes;
  std::string zones;
  std::string peer_timeout = "3s";
  size_t replication_queue = 100'000;
  bool self_register = true;
  std::string anti_entropy = "30s";
};

std::chrono::nanoseconds duration_flag(std::string_view name, const std::string& text) {
  const auto d = parse_duration(text);
  if (!d) {
    throw CLI::ValidationError(
        std::string(name), "invalid duration \"" + text + "\": write it like 30s, 500ms or 1m30s");
  }
  return *d;
}

std::pair<std::string, uint16_t> split_host_port(std::string_view name, const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw CLI::ValidationError(std::string(name), "\"" + text + "\" is not host:port");
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535) {
    throw CLI::ValidationError(std::string(name), "\"" + text + "\" has no valid port");
  }
  return {host, static_cast<uint16_t>(port)};
}

// Raises the soft file-descriptor limit to the hard one; returns the limit now in force.
uint64_t raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? 0 : static_cast<uint64_t>(limit.rlim_cur);
}

// Client connections this process can really hold: below the descriptor limit, with room left
// for peers, syncup, files and the listener (a tenth, at least 64), so that one connection too
// many is answered 503 instead of failing accept() (issue 15.5).
size_t connection_limit(size_t wanted, uint64_t fd_limit) {
  if (fd_limit == 0) return wanted;
  const uint64_t reserve = std::max<uint64_t>(64, fd_limit / 10);
  const uint64_t room = fd_limit > reserve ? fd_limit - reserve : 1;
  return static_cast<size_t>(std::min<uint64_t>(wanted, room));
}

int run_serve(const ServeFlags& f) {
  // Answers of a megabyte and more (fetch/all, large fetchs) live in their own mappings, given
  // back to the system as soon as they are sent; glibc would otherwise raise the threshold after
  // the first such free and keep a burst's buffers in its heap (issue 15.3).
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
  const auto level = spdlog::level::from_str(f.log_level);
  spdlog::set_level(level);
  const auto [host, port] = split_host_port("--listen", f.listen);
  const auto nodes = cluster::parse_nodes(f.nodes);
  if (const auto* err = std::get_if<std::string>(&nodes))
    throw CLI::ValidationError("--nodes", *err);
  const auto zones = cluster::parse_zones(f.zones);
  if (const auto* err = std::get_if<std::string>(&zones))
    throw CLI::ValidationError("--zones", *err);
  registry::Options ropts;
  ropts.evict_after = duration_flag("--evict-after", f.evict_after);
  ropts.evict_ceiling = duration_flag("--evict-ceiling", f.evict_ceiling);
  ropts.self_protection = f.self_protection;
  ropts.protect_ratio = f.protect_ratio;
  ropts.protect_min_instances = f.protect_min_instances;
  const auto evict_interval = duration_flag("--evict-interval", f.evict_interval);
  if (evict_interval.count() <= 0)
    throw CLI::ValidationError("--evict-interval", "must be positive");

  api::NativeOptions nopts;
  nopts.poll_hold = duration_flag("--poll-hold", f.poll_hold);
  nopts.poll_jitter = duration_flag("--poll-jitter", f.poll_jitter);
  nopts.max_parked_polls = f.max_parked_polls;
  nopts.max_poll_appids = f.max_poll_appids;
  nopts.init_protect = f.init_protect;
  nopts.init_protect_timeout = duration_flag("--init-protect-timeout", f.init_protect_timeout);
  nopts.compat_brpc_fetchs = f.compat_brpc_fetchs;

  http::ServerOptions sopts;
  sopts.host = host;
  sopts.port = port;
  sopts.threads = f.threads;
  sopts.body_limit = f.max_body;
  sopts.header_limit = f.max_header;
  const uint64_t fd_limit = raise_fd_limit();
  sopts.max_connections = connection_limit(f.max_connections, fd_limit);
  if (sopts.max_connections < f.max_connections) {
    spdlog::warn(
        "--max-connections {} is above what {} file descriptors allow: at most {} client "
        "connections (raise `ulimit -n` for more)",
        f.max_connections, fd_limit, sopts.max_connections);
  } else {
    spdlog::info("at most {} client connections (file descriptor limit {})", sopts.max_connections,
                 fd_limit);
  }
  sopts.max_unsent_bytes = f.max_unsent_bytes;
  sopts.idle_timeout = duration_flag("--idle-timeout", f.idle_timeout);
  sopts.request_timeout = duration_flag("--request-timeout", f.request_timeout);
  sopts.write_timeout = duration_flag("--write-timeout", f.write_timeout);
  sopts.access_log = f.access_log;

  // Signals are caught from before the server starts, so a SIGTERM right after the "listening"
  // line always means a clean stop.
  boost::asio::io_context main;
  boost::asio::signal_set signals(main, SIGINT, SIGTERM);
  SystemClock clock;
  registry::Registry registry(clock, ropts);
  http::Router router;
  // The identity needs the bound port when --listen asks for port 0, so the server binds first,
  // then the API and its routes are built, and only then do the workers start.
  std::unique_ptr<api::NativeApi> native;
  std::unique_ptr<api::RequestMetrics> request_metrics;
  sopts.reject_body = [&native](std::string_view path, std::string message) {
    if (path.starts_with("/discovery/")) return native->reject_body(path, std::move(message));
    return http::Response::text(413, std::move(message));
  };
  sopts.observe = [&request_metrics](std::string_view route, const http::Response& r, int64_t ns) {
    request_metrics->observe(route, r, ns);
  };
  http::Server server(sopts, router);
  try {
    server.listen();
  } catch (const std::system_error& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  const auto bound_address = boost::asio::ip::make_address(server.bound_host());
  const auto local_addresses = cluster::local_addresses();
  const std::string bound = cluster::host_port(bound_address, server.port());
  // A node bound to every address advertises one that peers and clients can reach.
  const std::string advertised = cluster::host_port(
      cluster::advertised_address(bound_address, local_addresses), server.port());
  if (f.advertise.empty() && bound_address.is_unspecified()) {
    spdlog::warn("--listen {} binds every address: advertising {} (set --advertise to choose)",
                 f.listen, advertised);
  }
  api::NodeIdentity identity{f.region, f.zone, f.env, f.hostname,
                             f.advertise.empty() ? advertised : f.advertise};
  if (identity.hostname.empty()) identity.hostname = identity.advertise_addr;
  native = std::make_unique<api::NativeApi>(registry, clock, identity, nopts);
  cluster::ClusterOptions copts;
  copts.self = identity.advertise_addr;
  copts.region = f.region;
  copts.zone = f.zone;
  // This node may be in --nodes under another name (localhost:7190 for 127.0.0.1:7190).
  for (const std::string& addr : std::get<0>(nodes)) {
    if (addr != identity.advertise_addr &&
        cluster::names_this_node(addr, bound_address, server.port(), local_addresses)) {
      spdlog::info("--nodes: {} is this node", addr);
      continue;
    }
    copts.nodes.push_back(addr);
  }
  copts.zones = std::move(std::get<0>(zones));
  const auto peer_timeout = duration_flag("--peer-timeout", f.peer_timeout);
  copts.peer_timeout = peer_timeout;
  copts.queue_capacity = f.replication_queue;
  auto replicator = std::make_unique<cluster::Replicator>(registry, std::move(copts));
  native->set_replicator(replicator.get());
  // Declared after the replicator, whose io_context it uses: destroyed first.
  std::unique_ptr<cluster::SelfRegistration> self;
  if (f.self_register) {
    self = std::make_unique<cluster::SelfRegistration>(
        registry, *replicator,
        cluster::SelfIdentity{f.region, f.zone, f.env, identity.hostname, identity.advertise_addr},
        // Every 30 s as the original, or often enough for a shorter --evict-after.
        std::min<std::chrono::nanoseconds>(std::chrono::seconds(30), ropts.evict_after / 3));
  }
  native->add_routes(router);
  auto routes = router.paths();
  routes.push_back("/metrics");
  request_metrics = std::make_unique<api::RequestMetrics>(std::move(routes));
  std::unique_ptr<cluster::AntiEntropy> anti_entropy;
  const auto anti_entropy_interval = duration_flag("--anti-entropy", f.anti_entropy);
  if (anti_entropy_interval.count() > 0) {
    anti_entropy = std::make_unique<cluster::AntiEntropy>(registry, *replicator,
                                                          anti_entropy_interval, peer_timeout);
    // A peer that answers again after writes to it were lost, or one just discovered, gets one
    // round at once.
    replicator->on_resync([&anti_entropy](const std::string& addr) { anti_entropy->resync(addr); });
  }
  api::MetricsSources sources{&registry,
                              &server,
                              request_metrics.get(),
                              [&native] { return native->init_protected(); },
                              {}};
  sources.more.push_back([&replicator](metrics::TextWriter& w) { replicator->write_metrics(w); });
  if (anti_entropy) {
    sources.more.push_back(
        [&anti_entropy](metrics::TextWriter& w) { anti_entropy->write_metrics(w); });
  }
  api::add_metrics_route(router, std::move(sources));
  server.start();
  // Reads open once a peer's state is here (or init-protect times out); then this node
  // registers itself (spec §6.6).
  replicator->start([&native, &self, &anti_entropy](bool synced) {
    if (synced) native->end_init_protect();
    if (self) self->start();
    if (anti_entropy) anti_entropy->start();
  });
  spdlog::info("muster serve listening on {}, advertised as {} (zone {}, env {}, hostname {})",
               bound, identity.advertise_addr, f.zone, f.env, identity.hostname);

  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) spdlog::info("signal {}: shutting down", sig);
    main.stop();
  });
  // Eviction runs on this thread, so a long run never holds up a request worker.
  boost::asio::steady_timer evict(main);
  bool was_protecting = false;
  std::function<void()> schedule = [&] {
    evict.expires_after(evict_interval);
    evict.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      const auto report = registry.tick();
      native->release_idle_renderings();
      malloc_trim(0);  // what a burst of clients left in the heap goes back to the system
      // At info only when something happened: an eviction, or the guard switching.
      const bool news = report.evicted > 0 || report.protecting != was_protecting;
      was_protecting = report.protecting;
      spdlog::log(news ? spdlog::level::info : spdlog::level::debug,
                  "eviction: {} expired, {} evicted, protect mode {}", report.expired,
                  report.evicted, report.protecting ? "on" : "off");
      schedule();
    });
  };
  schedule();
  main.run();
  if (self) self->cancel();
  server.shutdown();
  // What clients wrote last, and this node's cancel, still reach the peers: the queues get a
  // second to drain.
  replicator->stop(std::chrono::seconds(1));
  spdlog::info("stopped");
  return 0;
}

}  // namespace

CLI::App& add_serve_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand("serve", "Run a registry node (Bilibili discovery API).");
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto& f = *flags;
  cmd->add_option("--config", f.config,
                  "YAML file of options: keys are the long names below (poll_hold or poll-hold); "
                  "the command line wins over the file");
  cmd->add_option("--listen", f.listen, "Address to serve on, host:port (port 0 picks a free one)")
      ->capture_default_str();
  cmd->add_option(
      "--advertise", f.advertise,
      "host:port that clients and peers reach this node at (default: the bound address)");
  cmd->add_option("--region", f.region, "This node's region")->capture_default_str();
  cmd->add_option("--zone", f.zone, "This node's zone")->capture_default_str();
  cmd->add_option("--env", f.env, "This node's env (its self-registration lives there)")
      ->capture_default_str();
  cmd->add_option("--hostname", f.hostname,
                  "This node's unique name (default: the advertised host:port)");
  cmd->add_option("--threads", f.threads, "Request worker threads (0 = one per core)")
      ->capture_default_str();
  cmd->add_option("--poll-hold", f.poll_hold,
                  "How long a poll waits for a change before answering -304")
      ->capture_default_str();
  cmd->add_option("--poll-jitter", f.poll_jitter,
                  "Random extra hold, up to this, so that pollers do not return in step")
      ->capture_default_str();
  cmd->add_option("--evict-after", f.evict_after,
                  "An instance not renewed for this long is evicted (unless protected)")
      ->capture_default_str();
  cmd->add_option("--evict-interval", f.evict_interval,
                  "How often eviction runs and the guard counts renews")
      ->capture_default_str();
  cmd->add_option("--evict-ceiling", f.evict_ceiling,
                  "Evict after this long without renew even while protected")
      ->capture_default_str();
  cmd->add_option("--self-protection", f.self_protection,
                  "true: stop ordinary eviction while renews fall below --protect-ratio of those "
                  "expected, and evict at most 15% per run; false: evict every expired instance")
      ->capture_default_str();
  cmd->add_option("--protect-ratio", f.protect_ratio,
                  "Share of expected renews below which the guard protects")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--protect-min-instances", f.protect_min_instances,
                  "The guard engages only with at least this many instances registered: below, "
                  "a few restarts already look like a network problem")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option(
         "--init-protect", f.init_protect,
         "Refuse reads (-500) until the first syncup succeeds or --init-protect-timeout passes")
      ->capture_default_str();
  cmd->add_option("--init-protect-timeout", f.init_protect_timeout,
                  "Init-protect ends after this long even without a syncup")
      ->capture_default_str();
  cmd->add_option("--idle-timeout", f.idle_timeout, "Close a keep-alive connection idle this long")
      ->capture_default_str();
  cmd->add_option("--request-timeout", f.request_timeout,
                  "Close a connection whose request takes longer than this to arrive")
      ->capture_default_str();
  cmd->add_option("--write-timeout", f.write_timeout,
                  "Close a connection whose answer takes longer than this to send")
      ->capture_default_str();
  cmd->add_option("--max-body", f.max_body, "Largest request body in bytes (-400 above)")
      ->capture_default_str();
  cmd->add_option("--max-header", f.max_header, "Largest request header in bytes (431 above)")
      ->capture_default_str();
  cmd->add_option("--max-connections", f.max_connections,
                  "Open connections at most (503 and close above)")
      ->capture_default_str();
  cmd->add_option("--max-unsent-bytes", f.max_unsent_bytes,
                  "Bytes of answers not yet taken by their clients, all connections together; a "
                  "large answer above it is refused with 503 and Retry-After")
      ->capture_default_str();
  cmd->add_option("--max-parked-polls", f.max_parked_polls, "Waiting polls at most (-400 above)")
      ->capture_default_str();
  cmd->add_option("--max-poll-appids", f.max_poll_appids, "Appids in one polls request at most")
      ->capture_default_str();
  cmd->add_option("--compat-brpc-fetchs", f.compat_brpc_fetchs,
                  "Render fetchs with a flat instances array, as brpc's client expects")
      ->capture_default_str();
  cmd->add_option("--nodes", f.nodes,
                  "The same-zone nodes, this one included, as host:port,host:port; writes are "
                  "replicated to the others, and a starting node syncs from them");
  cmd->add_option("--zones", f.zones,
                  "Other zones' nodes, as zone=host:port;host:port,zone2=host:port; each write "
                  "goes to one node of each");
  cmd->add_option("--peer-timeout", f.peer_timeout,
                  "A peer that does not connect or answer a batch within this is marked lost")
      ->capture_default_str();
  cmd->add_option("--replication-queue", f.replication_queue,
                  "Writes queued per peer at most; more are dropped and counted")
      ->capture_default_str();
  cmd->add_option("--self-register", f.self_register,
                  "Register this node as infra.discovery (renewed every 30s, cancelled at exit); "
                  "kratos clients wait for it, and peers find each other through it")
      ->capture_default_str();
  cmd->add_option("--anti-entropy", f.anti_entropy,
                  "How often to compare app digests with each peer and pull what differs "
                  "(0 = never)")
      ->capture_default_str();
  cmd->add_option("--access-log", f.access_log, "Log every request")->capture_default_str();
  cmd->add_option("--log-level", f.log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  cmd->callback([flags, &exit_code] { exit_code = run_serve(*flags); });
  return *cmd;
}

}  // namespace muster::cli
