#include "cli/serve.h"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <csignal>
#include <functional>
#include <memory>

#include "checks/check.h"
#include "cli/fd_limit.h"
#include "cli/tokens_file.h"
#include "cluster/cluster_options.h"
#include "common/duration.h"
#include "common/endpoint.h"
#include "node/node.h"

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
  // The server's own defaults, declared once in http/server.h.
  size_t max_body = http::ServerOptions{}.body_limit;
  size_t max_header = http::ServerOptions{}.header_limit;
  size_t max_connections = http::ServerOptions{}.max_connections;
  size_t max_unsent_bytes = http::ServerOptions{}.max_unsent_bytes;
  size_t max_parked_polls = 50'000;
  size_t max_poll_appids = 1000;
  bool compat_brpc_fetchs = false;
  std::string consul_reap_floor = "1m";
  std::string consul_check_requests = "any";
  std::string tokens;
  std::string tls_cert, tls_key, tls_client_ca, tls_peer_ca, tls_ca;
  size_t max_connections_per_source = http::ServerOptions{}.max_connections_per_source;
  bool limit_loopback_sources = false;
  double max_writes_per_source = 0;
  bool access_log = false;
  std::string log_level = "info";
  std::string nodes;
  std::string zones;
  std::string peer_timeout = "3s";
  size_t replication_queue = 100'000;
  size_t replication_queue_bytes = 256 * 1024 * 1024;
  size_t max_discovered_peers = 64;
  bool self_register = true;
  std::string anti_entropy = "30s";
  std::string data_dir;
  std::string fsync_interval = "1s";
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
  const auto e = parse_host_port(text);
  if (!e) {
    throw CLI::ValidationError(std::string(name),
                               "\"" + text +
                                   "\" is not host:port (a port 0..65535; an IPv6 address in "
                                   "brackets: [::1]:7171)");
  }
  return {e->host, e->port};
}

int run_serve(const ServeFlags& f) {
  // Answers of a megabyte and more (fetch/all, large fetchs) live in their own mappings, given
  // back to the system as soon as they are sent; glibc would otherwise raise the threshold after
  // the first such free and keep a burst's buffers in its heap (issue 15.3).
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
  spdlog::set_level(spdlog::level::from_str(f.log_level));
  node::NodeOptions o;
  const auto [host, port] = split_host_port("--listen", f.listen);
  const auto nodes = cluster::parse_nodes(f.nodes);
  if (const auto* err = std::get_if<std::string>(&nodes))
    throw CLI::ValidationError("--nodes", *err);
  const auto zones = cluster::parse_zones(f.zones);
  if (const auto* err = std::get_if<std::string>(&zones))
    throw CLI::ValidationError("--zones", *err);
  o.nodes = std::get<0>(nodes);
  o.zones = std::get<0>(zones);
  o.registry.evict_after = duration_flag("--evict-after", f.evict_after);
  o.registry.evict_ceiling = duration_flag("--evict-ceiling", f.evict_ceiling);
  o.registry.self_protection = f.self_protection;
  o.registry.protect_ratio = f.protect_ratio;
  o.registry.protect_min_instances = f.protect_min_instances;
  o.evict_interval = duration_flag("--evict-interval", f.evict_interval);
  if (o.evict_interval.count() <= 0)
    throw CLI::ValidationError("--evict-interval", "must be positive");

  o.apis.native.poll_hold = duration_flag("--poll-hold", f.poll_hold);
  o.apis.native.poll_jitter = duration_flag("--poll-jitter", f.poll_jitter);
  o.apis.native.max_parked_polls = f.max_parked_polls;
  o.apis.native.max_poll_appids = f.max_poll_appids;
  o.init_protect = f.init_protect;
  o.init_protect_timeout = duration_flag("--init-protect-timeout", f.init_protect_timeout);
  o.apis.native.compat_brpc_fetchs = f.compat_brpc_fetchs;
  o.apis.consul.reap_floor = duration_flag("--consul-reap-floor", f.consul_reap_floor);
  o.apis.consul.check_requests = *checks::parse_allowed_requests(f.consul_check_requests);

  o.server.host = host;
  o.server.port = port;
  o.server.threads = f.threads;
  o.server.body_limit = f.max_body;
  o.server.header_limit = f.max_header;
  const uint64_t fd_limit = raise_fd_limit();
  o.server.max_connections = connection_limit(f.max_connections, fd_limit);
  if (o.server.max_connections < f.max_connections) {
    spdlog::warn(
        "--max-connections {} is above what {} file descriptors allow: at most {} client "
        "connections (raise `ulimit -n` for more)",
        f.max_connections, fd_limit, o.server.max_connections);
  } else {
    spdlog::info("at most {} client connections (file descriptor limit {})",
                 o.server.max_connections, fd_limit);
  }
  o.apis.consul.max_probes_in_flight = probe_budget(fd_limit);
  o.server.max_unsent_bytes = f.max_unsent_bytes;
  o.server.max_connections_per_source = f.max_connections_per_source;
  o.server.limit_loopback_sources = f.limit_loopback_sources;
  o.max_writes_per_source = f.max_writes_per_source;
  o.server.idle_timeout = duration_flag("--idle-timeout", f.idle_timeout);
  o.server.request_timeout = duration_flag("--request-timeout", f.request_timeout);
  o.server.write_timeout = duration_flag("--write-timeout", f.write_timeout);
  o.server.access_log = f.access_log;

  o.region = f.region;
  o.zone = f.zone;
  o.env = f.env;
  o.hostname = f.hostname;
  o.advertise = f.advertise;
  o.peer_timeout = duration_flag("--peer-timeout", f.peer_timeout);
  o.replication_queue = f.replication_queue;
  o.replication_queue_bytes = f.replication_queue_bytes;
  o.max_discovered_peers = f.max_discovered_peers;
  o.self_register = f.self_register;
  o.anti_entropy = duration_flag("--anti-entropy", f.anti_entropy);
  o.data.dir = f.data_dir;
  o.data.fsync_interval = duration_flag("--fsync-interval", f.fsync_interval);
  // A file size limit (ulimit -f) must be a write error the data directory reports, not the
  // signal that would kill the node.
  if (!f.data_dir.empty()) std::signal(SIGXFSZ, SIG_IGN);

  if (!f.tokens.empty()) {
    auto tokens = read_tokens_file(f.tokens);
    if (auto* problem = std::get_if<std::string>(&tokens)) {
      spdlog::error("--tokens {}", *problem);
      return 2;
    }
    o.tokens = std::move(std::get<api::Tokens>(tokens));
  }

  o.tls = {f.tls_cert, f.tls_key, f.tls_client_ca, f.tls_peer_ca};
  o.peer_server_ca = f.tls_ca;
  if (f.tls_cert.empty() != f.tls_key.empty())
    throw CLI::ValidationError("--tls-cert", "TLS needs both --tls-cert and --tls-key");
  if (f.tls_cert.empty() &&
      !(f.tls_client_ca.empty() && f.tls_peer_ca.empty() && f.tls_ca.empty())) {
    throw CLI::ValidationError("--tls-cert",
                               "--tls-client-ca, --tls-peer-ca and --tls-ca need TLS: give "
                               "--tls-cert and --tls-key");
  }

  // Signals are caught from before the node starts, so a SIGTERM right after the "listening"
  // line always means a clean stop. `main` outlives the node, whose eviction timer it runs.
  boost::asio::io_context main;
  boost::asio::signal_set signals(main, SIGINT, SIGTERM);
  boost::asio::signal_set reload(main, SIGHUP);
  SystemClock clock;
  node::Node node(std::move(o), clock);
  const auto started = node.start(main);
  if (const auto* problem = std::get_if<std::string>(&started)) {
    spdlog::error("{}", *problem);
    return 1;
  }
  if (!f.data_dir.empty()) {
    const auto& r = node.restored();
    spdlog::info("data dir {}: restored {} instances from {} records in {} ms", f.data_dir,
                 r.instances, r.records, r.took.count());
    if (!r.problems.empty())
      spdlog::warn("data dir {}: damaged data skipped, the rest restored: {}", f.data_dir,
                   r.problems);
  }
  const auto& id = node.identity();
  spdlog::info("muster serve listening on {}, advertised as {} (zone {}, env {}, hostname {})",
               node.bound(), id.advertise_addr, id.zone, id.env, id.hostname);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) spdlog::info("signal {}: shutting down", sig);
    main.stop();
  });
  // SIGHUP reads the tokens file and the TLS files again; a bad file keeps what is in force.
  std::function<void(const boost::system::error_code&, int)> on_hup =
      [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        if (!f.tls_cert.empty()) {
          if (auto problem = node.reload_tls(); !problem.empty())
            spdlog::error("SIGHUP: TLS not reloaded, the old certificates stay: {}", problem);
          else
            spdlog::info("SIGHUP: TLS certificates reloaded");
        }
        if (f.tokens.empty()) {
          spdlog::info("SIGHUP: no --tokens file to read");
        } else if (auto tokens = read_tokens_file(f.tokens);
                   auto* problem = std::get_if<std::string>(&tokens)) {
          spdlog::error("SIGHUP: tokens not reloaded, the old ones stay: {}", *problem);
        } else {
          const auto& t = std::get<api::Tokens>(tokens);
          spdlog::info("SIGHUP: tokens reloaded ({} admin, {} write, {} read, {} peer)",
                       t.admin.size(), t.write.size(), t.read.size(), t.peer.size());
          node.set_tokens(std::get<api::Tokens>(std::move(tokens)));
        }
        reload.async_wait(on_hup);
      };
  reload.async_wait(on_hup);
  main.run();
  node.stop();
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
  cmd->add_option("--max-connections-per-source", f.max_connections_per_source,
                  "Open connections from one source address (HTTP 429 above; 0 = no limit); "
                  "loopback sources are not limited unless --limit-loopback-sources")
      ->capture_default_str();
  cmd->add_flag("--limit-loopback-sources", f.limit_loopback_sources,
                "Apply --max-connections-per-source to loopback addresses too (127.0.0.0/8, "
                "::1), which a local proxy or sidecar would otherwise share");
  cmd->add_option("--max-writes-per-source", f.max_writes_per_source,
                  "Clients' writes per second from one source address (-509 and Consul's 429 "
                  "above; 0 = no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--tokens", f.tokens,
                  "YAML file of the admin, write, read and peer tokens (docs/security.md); read "
                  "again on SIGHUP. None: every route is open");
  cmd->add_option("--tls-cert", f.tls_cert,
                  "PEM certificate chain: serve HTTPS (TLS 1.2+) and speak TLS to peers, "
                  "presenting it; read again on SIGHUP");
  cmd->add_option("--tls-key", f.tls_key, "PEM private key of --tls-cert");
  cmd->add_option("--tls-client-ca", f.tls_client_ca,
                  "Require client certificates issued by this CA (mTLS; peers' from "
                  "--tls-peer-ca are accepted too)");
  cmd->add_option("--tls-peer-ca", f.tls_peer_ca,
                  "Client certificates issued by this CA identify peer nodes: only they (or the "
                  "peer token) may replicate");
  cmd->add_option("--tls-ca", f.tls_ca,
                  "CA of the peers' server certificates (default: --tls-peer-ca, else the "
                  "system's CAs)");
  cmd->add_option("--consul-reap-floor", f.consul_reap_floor,
                  "A Consul check's DeregisterCriticalServiceAfter is raised to at least this")
      ->capture_default_str();
  cmd->add_option("--consul-check-requests", f.consul_check_requests,
                  "What Consul checks may make this node send: any (HTTP with any method, "
                  "headers and body; TCP), get (HTTP GET and HEAD without a body; TCP), none "
                  "(TTL checks only)")
      ->check(CLI::IsMember({"any", "get", "none"}))
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
  cmd->add_option("--max-discovered-peers", f.max_discovered_peers,
                  "Peers taken from infra.discovery per zone at most, beside --nodes and --zones")
      ->capture_default_str();
  cmd->add_option("--replication-queue", f.replication_queue,
                  "Writes queued per peer at most; more are dropped and counted")
      ->capture_default_str();
  cmd->add_option("--replication-queue-bytes", f.replication_queue_bytes,
                  "Bytes all peers' queues hold together at most; more writes are dropped, "
                  "counted, and repaired by anti-entropy")
      ->capture_default_str();
  cmd->add_option("--self-register", f.self_register,
                  "Register this node as infra.discovery (renewed every 30s, cancelled at exit); "
                  "kratos clients wait for it, and peers find each other through it")
      ->capture_default_str();
  cmd->add_option("--anti-entropy", f.anti_entropy,
                  "How often to compare app digests with each peer and pull what differs "
                  "(0 = never)")
      ->capture_default_str();
  cmd->add_option("--data-dir", f.data_dir,
                  "Keep the registry in this directory (a journal and snapshots): a restarted "
                  "node serves what it held at once. None: memory only");
  cmd->add_option("--fsync-interval", f.fsync_interval,
                  "How often the data directory's journal is flushed to disk (0s: at every "
                  "change); a machine crash loses at most this much")
      ->capture_default_str();
  cmd->add_option("--access-log", f.access_log, "Log every request")->capture_default_str();
  cmd->add_option("--log-level", f.log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  cmd->callback([flags, &exit_code] { exit_code = run_serve(*flags); });
  return *cmd;
}

}  // namespace muster::cli
