#include "cli/client_commands.h"

#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>

#include "cli/table.h"
#include "common/duration.h"
#include "common/tls.h"
#include "common/utf8.h"
#include "muster/registrar.h"
#include "muster/resolver.h"
#include "wire/form.h"
#include "wire/instance_json.h"

namespace muster::cli {
namespace {

namespace json = boost::json;

// What every client subcommand takes.
struct Common {
  std::vector<std::string> nodes;
  bool json = false;
  std::string timeout = "3s";
  std::string token;
  std::string ca, cert, key;  // TLS: the nodes' CA, a client certificate and its key
};

// Who an instance is; defaults from the environment as kratos reads it.
struct Identity {
  std::string appid, hostname, zone, env, region;
};

std::string env_or(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

// A failure the command reports: the message (prefixed "muster <command>: ") and exit code 1.
struct Failure {
  std::string message;
};

// An option given once per value. It takes one value per occurrence: CLI11's default for a vector
// would swallow the positional appids that follow, as in `fetch --node a:1 demo`.
template <typename T>
CLI::Option* add_repeatable(CLI::App& cmd, const std::string& name, std::vector<T>& into,
                            const std::string& description) {
  return cmd.add_option(name, into, description)->allow_extra_args(false);
}

void add_common(CLI::App& cmd, Common& c) {
  add_repeatable(cmd, "--node", c.nodes,
                 "registry node host:port, or https://host:port over TLS (repeatable or "
                 "comma-separated; default DISCOVERY_NODES)")
      ->delimiter(',');
  cmd.add_flag("--json", c.json, "print the node's data as JSON instead of a table");
  cmd.add_option("--timeout", c.timeout, "per-request timeout")->capture_default_str();
  cmd.add_option(
      "--token", c.token,
      "bearer token for nodes that have tokens (default MUSTER_TOKEN; docs/security.md)");
  cmd.add_option("--ca", c.ca,
                 "PEM CA of https:// nodes' certificates (default MUSTER_CA, else the system's)");
  cmd.add_option("--cert", c.cert,
                 "PEM client certificate, for nodes that require one (default MUSTER_CERT)");
  cmd.add_option("--key", c.key, "PEM private key of --cert (default MUSTER_KEY)");
}

void add_identity(CLI::App& cmd, Identity& id, bool with_region) {
  cmd.add_option("--appid", id.appid, "the service's appid")->required();
  cmd.add_option("--hostname", id.hostname, "the instance (default HOSTNAME)");
  cmd.add_option("--zone", id.zone, "its zone (default ZONE)");
  cmd.add_option("--env", id.env, "its env (default DEPLOY_ENV)");
  if (with_region) cmd.add_option("--region", id.region, "its region (default REGION)");
}

// A node as host:port, or https://host:port for TLS; `http://host:port/` is the same as
// host:port, other schemes are refused.
std::string node_address(std::string node) {
  std::string scheme;
  if (const size_t end = node.find("://"); end != std::string::npos) {
    scheme = node.substr(0, end);
    if (scheme != "http" && scheme != "https")
      throw Failure{"node \"" + node + "\": only http:// and https:// are supported"};
    node.erase(0, end + 3);
    while (!node.empty() && node.back() == '/')
      node.pop_back();
  }
  if (node.find('/') != std::string::npos)
    throw Failure{"node \"" + node + "\" has a path: give host:port"};
  return scheme == "https" ? "https://" + node : node;
}

ClientOptions client_options(const Common& c) {
  ClientOptions o;
  o.nodes = c.nodes;
  if (o.nodes.empty()) o.nodes = parse_node_list(env_or("DISCOVERY_NODES"));
  for (auto& node : o.nodes)
    node = node_address(std::move(node));
  const auto timeout = parse_duration(c.timeout);
  if (!timeout || *timeout <= std::chrono::nanoseconds::zero())
    throw Failure{"--timeout \"" + c.timeout + "\" is not a positive duration (e.g. 3s, 500ms)"};
  o.request_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
  o.zone = env_or("ZONE", "-");
  o.env = env_or("DEPLOY_ENV", "-");
  o.hostname = env_or("HOSTNAME", "-");
  o.region = env_or("REGION");
  o.token = c.token.empty() ? env_or("MUSTER_TOKEN") : c.token;
  o.ca_file = c.ca.empty() ? env_or("MUSTER_CA") : c.ca;
  o.cert_file = c.cert.empty() ? env_or("MUSTER_CERT") : c.cert;
  o.key_file = c.key.empty() ? env_or("MUSTER_KEY") : c.key;
  if (auto problem = o.validate(); !problem.empty())
    throw Failure{problem == "no registry nodes: set DISCOVERY_NODES (host:port,host:port) or nodes"
                      ? "no registry node: give --node host:port or set DISCOVERY_NODES"
                      : problem};
  // Wrong TLS files are said as such, not as nodes that do not answer.
  const bool any_tls = std::any_of(o.nodes.begin(), o.nodes.end(),
                                   [](const std::string& n) { return n.starts_with("https://"); });
  if (any_tls) {
    auto tls = tls::client_context({o.ca_file, o.cert_file, o.key_file});
    if (auto* problem = std::get_if<std::string>(&tls)) throw Failure{"TLS: " + *problem};
  }
  return o;
}

void complete(Identity& id) {
  if (id.hostname.empty()) id.hostname = env_or("HOSTNAME");
  if (id.zone.empty()) id.zone = env_or("ZONE");
  if (id.env.empty()) id.env = env_or("DEPLOY_ENV");
  if (id.region.empty()) id.region = env_or("REGION");
  if (id.hostname.empty()) throw Failure{"no hostname: give --hostname or set HOSTNAME"};
  if (id.zone.empty()) throw Failure{"no zone: give --zone or set ZONE"};
  if (id.env.empty()) throw Failure{"no env: give --env or set DEPLOY_ENV"};
}

// The node's answer: its code, message and data.
struct Answer {
  int code = 0;
  std::string message;
  json::value data;
  json::value error;
  std::string node;
};

// One request, trying each node once until one answers with an envelope (libmuster's
// Client::call); `hold` makes it a long poll.
Answer exchange(const Common& c, std::string_view method, std::string target, std::string body,
                std::chrono::milliseconds hold = {}) {
  const Client client(client_options(c));
  auto called = client.call(method, std::move(target), std::move(body), hold);
  if (auto* problem = std::get_if<std::string>(&called)) throw Failure{*problem};
  auto& answer = std::get<muster::Answer>(called);
  auto envelope = wire::read_envelope(answer.body);  // Client::call checked that it is one
  Answer a;
  a.node = answer.node;
  a.code = answer.code;
  a.message = answer.message;
  if (envelope) {
    a.data = std::move(envelope->data);
    a.error = std::move(envelope->error);
  }
  return a;
}

// A non-zero code is a failure, except those the command expects.
Answer expect_ok(Answer a, std::initializer_list<int> also = {}) {
  if (a.code == 0 || std::find(also.begin(), also.end(), a.code) != also.end()) return a;
  throw Failure{a.node + " answered " + std::to_string(a.code) + ": " + a.message};
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const auto& p : parts)
    out += (out.empty() ? "" : sep) + p;
  return out;
}

template <class Pairs>
std::string metadata_text(const Pairs& md) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : md)
    parts.push_back(k + "=" + v);
  return join(parts, ",");
}

std::string status_text(int status) {
  return status == 1 ? "UP" : status == 2 ? "DOWN" : std::to_string(status);
}

// Removes from an InstanceInfo the instances whose text is not valid UTF-8 (issue 15.1), saying
// so on stderr: the rest is printed, and what is printed is always readable.
void drop_unreadable(json::value& info) {
  if (!info.is_object()) return;
  auto* zones = info.get_object().if_contains("instances");
  if (zones == nullptr || !zones->is_object()) return;
  size_t dropped = 0;
  for (auto& [zone, list] : zones->get_object()) {
    if (!list.is_array()) continue;
    auto& items = list.get_array();
    for (auto it = items.begin(); it != items.end();) {
      if (it->is_object() && !wire::read_instance(it->get_object()).readable()) {
        it = items.erase(it);
        ++dropped;
      } else {
        ++it;
      }
    }
  }
  if (dropped > 0) {
    std::cerr << "muster: skipped " << dropped
              << " unreadable instance(s) (text that is not valid UTF-8)\n";
  }
}

// drop_unreadable() over {appid: InstanceInfo}; an appid that is not UTF-8 goes whole.
void drop_unreadable_apps(json::value& apps) {
  if (!apps.is_object()) return;
  auto& o = apps.get_object();
  for (auto it = o.begin(); it != o.end();) {
    if (!valid_utf8(it->key())) {
      std::cerr << "muster: skipped an app whose appid is not valid UTF-8\n";
      it = o.erase(it);
    } else {
      drop_unreadable(it->value());
      ++it;
    }
  }
}

std::vector<wire::InstanceRecord> instances_of(const json::value& info) {
  std::vector<wire::InstanceRecord> out;
  if (!info.is_object()) return out;
  const auto* zones = info.get_object().if_contains("instances");
  if (zones == nullptr || !zones->is_object()) return out;
  for (const auto& [zone, list] : zones->get_object()) {
    if (!list.is_array()) continue;
    for (const auto& item : list.get_array())
      if (item.is_object()) out.push_back(wire::read_instance(item.get_object()));
  }
  return out;
}

// Rows of instances: libmuster's (watch) or as read from an answer (fetch, fetchs, polls).
template <class Instances>
void add_instances(Table& t, const Instances& list) {
  for (const auto& i : list) {
    t.add({i.appid, i.zone, i.hostname, status_text(static_cast<int>(i.status)), i.version,
           join(i.addrs, ","), metadata_text(i.metadata)});
  }
}

Table instance_table() {
  return Table({"APPID", "ZONE", "HOSTNAME", "STATUS", "VERSION", "ADDRS", "METADATA"});
}

// `data` of fetchs and polls: {appid: InstanceInfo}.
void print_apps(const Answer& a, std::ostream& out) {
  Table t = instance_table();
  if (a.data.is_object())
    for (const auto& [appid, info] : a.data.get_object())
      add_instances(t, instances_of(info));
  t.print(out);
  if (a.error.is_object()) {
    if (const auto* missing = a.error.get_object().if_contains("-404");
        missing != nullptr && missing->is_array() && !missing->get_array().empty()) {
      std::vector<std::string> names;
      for (const auto& m : missing->get_array())
        if (m.is_string()) names.emplace_back(m.get_string());
      out << "not found: " << join(names, ", ") << '\n';
    }
  }
}

void print_json(const json::value& v) {
  std::cout << json::serialize(v) << '\n';
}

std::map<std::string, std::string> parse_metadata(const std::vector<std::string>& pairs) {
  std::map<std::string, std::string> out;
  for (const auto& p : pairs) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Failure{"--metadata \"" + p + "\" is not key=value"};
    out[p.substr(0, eq)] = p.substr(eq + 1);
  }
  return out;
}

std::string identity_form(const Identity& id) {
  std::string f;
  wire::append_identity(f, {id.zone, id.env, id.appid, id.hostname});
  return f;
}

// Runs `body`, turning a Failure into its message and exit code 1.
void run(const std::string& name, int& exit_code, const std::function<void()>& body) {
  try {
    body();
    exit_code = 0;
  } catch (const Failure& f) {
    std::cerr << "muster " << name << ": " << f.message << '\n';
    exit_code = 1;
  }
}

// 2026-11-29 23:40:01.123 in the local time zone.
std::string local_time(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03d", text, static_cast<int>(ms));
  return out;
}

void print_done(const Common& c, const Answer& a, const std::string& what) {
  if (c.json) {
    print_json(json::object{{"code", a.code}, {"message", a.message}, {"node", a.node}});
  } else {
    std::cout << what << " (node " << a.node << ")\n";
  }
}

// `register --keep`: registers through libmuster's Registrar, which renews every `interval` and
// registers again when a node forgets the instance, until SIGINT or SIGTERM; then cancels.
void register_and_keep(const Common& c, const Identity& id, Registration reg,
                       std::chrono::milliseconds interval) {
  auto options = client_options(c);
  options.zone = id.zone;
  options.env = id.env;
  options.hostname = id.hostname;
  options.region = id.region;
  // Blocked before the client's thread starts, so that only sigtimedwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  Client client(options);
  Registrar registrar(client, std::move(reg), interval);
  const std::string who = id.appid + " " + id.hostname;
  bool announced = false;
  for (;;) {
    const timespec tick{0, 50'000'000};
    if (sigtimedwait(&signals, nullptr, &tick) > 0) break;
    if (!announced && registrar.registrations() > 0) {
      announced = true;
      std::cout << "registered " << who << "; renewing every "
                << format_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(interval))
                << " until Ctrl-C or SIGTERM" << std::endl;
    }
  }
  if (!registrar.cancel()) throw Failure{"could not cancel " + who + ": no node confirmed it"};
  std::cout << "cancelled " << who << std::endl;
}

// `watch`: follows apps until SIGINT or SIGTERM (or --count changes), one report per change.
void watch(const Common& c, const std::vector<std::string>& appids, const std::string& env,
           const std::string& zone, size_t count) {
  auto options = client_options(c);
  if (!env.empty()) options.env = env;
  if (options.env == "-") throw Failure{"no env: give --env or set DEPLOY_ENV"};
  // Block the signals before the client's thread starts, so that only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);  // "--count reached", from the client's thread
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // Declared before the client and resolver: a callback may use them until the resolver is gone.
  std::mutex mu;
  size_t changes = 0;
  // An operator watching sees at once that the node is gone, and when it is back.
  auto down = std::make_shared<std::atomic<bool>>(false);
  options.on_poll_error = [down](const std::string& node, const std::string& reason) {
    if (!down->exchange(true))
      std::cerr << "muster watch: node " << node << ": " << reason << "; retrying" << std::endl;
  };
  options.on_poll_recovered = [down](const std::string& node) {
    if (down->exchange(false)) std::cerr << "muster watch: connected to node " << node << std::endl;
  };
  options.on_unreadable = [](const std::string& node, size_t skipped) {
    std::cerr << "muster watch: node " << node << ": skipped " << skipped
              << " unreadable instance(s) (text that is not valid UTF-8)" << std::endl;
  };
  Client client(options);
  Resolver resolver(client);
  for (const auto& appid : appids) {
    WatchOptions w;
    w.filter.zone = zone;
    w.keep_last_on_empty = false;  // an operator wants to see an app vanish
    resolver.subscribe(appid, w, [&, appid](const std::vector<Instance>& list) {
      std::lock_guard lock(mu);
      const auto now = std::chrono::system_clock::now();
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
      if (c.json) {
        json::array items;
        for (const auto& i : list) {
          items.push_back(json::object{{"zone", i.zone},
                                       {"hostname", i.hostname},
                                       {"status", i.status},
                                       {"version", i.version},
                                       {"addrs", json::value_from(i.addrs)},
                                       {"metadata", json::value_from(i.metadata)}});
        }
        print_json(json::object{{"time_ms", ms}, {"appid", appid}, {"instances", items}});
      } else {
        std::cout << "# " << local_time(now) << " " << appid << ": " << list.size()
                  << " instance(s)\n";
        Table t = instance_table();
        add_instances(t, list);
        t.print(std::cout);
      }
      std::cout.flush();
      if (count != 0 && ++changes == count) kill(getpid(), SIGUSR1);
    });
  }
  int sig = 0;
  sigwait(&signals, &sig);
}

// What the client subcommands parse. One object for all of them: CLI11 writes into it during
// parse(), and it lives as long as the app (each callback holds it).
struct Parsed {
  Common common;
  Identity id;
  // The reads (fetch, fetchs, polls, watch).
  std::string env, zone;
  std::vector<std::string> appids;
  int status = 3;
};
using SharedParsed = std::shared_ptr<Parsed>;

void add_register(CLI::App& app, int& exit_code, const SharedParsed& p) {
  auto& reg =
      *app.add_subcommand("register", "register an instance (once: it expires unless renewed)");
  auto addrs = std::make_shared<std::vector<std::string>>();
  auto md = std::make_shared<std::vector<std::string>>();
  auto version = std::make_shared<std::string>();
  auto status = std::make_shared<int>(1);
  auto keep = std::make_shared<bool>(false);
  auto interval = std::make_shared<std::string>("30s");
  add_common(reg, p->common);
  add_identity(reg, p->id, true);
  add_repeatable(reg, "--addr", *addrs, "an address scheme://host:port (repeatable)")->required();
  reg.add_option("--version", *version, "the instance's version");
  add_repeatable(reg, "--metadata", *md, "key=value (repeatable)");
  reg.add_option("--status", *status, "1 up, 2 down")
      ->capture_default_str()
      ->check(CLI::Range(1, 2));
  reg.add_flag("--keep", *keep,
               "stay in the foreground: renew, register again if a node forgets the instance, "
               "and cancel on Ctrl-C or SIGTERM");
  reg.add_option("--interval", *interval, "with --keep: how often to renew")->capture_default_str();
  reg.callback([&exit_code, p, addrs, md, version, status, keep, interval] {
    run("register", exit_code, [&] {
      Identity& id = p->id;
      complete(id);
      if (*keep) {
        const auto every = parse_duration(*interval);
        if (!every || *every < std::chrono::milliseconds(100))
          throw Failure{"--interval \"" + *interval + "\" is not a duration of 100ms or more"};
        Registration r{id.appid, *addrs, *version, parse_metadata(*md), *status};
        return register_and_keep(p->common, id, std::move(r),
                                 std::chrono::duration_cast<std::chrono::milliseconds>(*every));
      }
      std::string form = identity_form(id);
      wire::append_field(form, "region", id.region);
      wire::append_registration(form, *addrs, *status, *version,
                                wire::MetadataJson::of(parse_metadata(*md)));
      const auto a = expect_ok(exchange(p->common, "POST", "/discovery/register", form));
      print_done(p->common, a, "registered " + id.appid + " " + id.hostname);
    });
  });
}

void add_renew_and_cancel(CLI::App& app, int& exit_code, const SharedParsed& p) {
  for (const char* name : {"renew", "cancel"}) {
    auto& cmd = *app.add_subcommand(name, std::string(name) + " an instance");
    add_common(cmd, p->common);
    add_identity(cmd, p->id, false);
    const std::string route = name;
    cmd.callback([&exit_code, p, route] {
      run(route, exit_code, [&] {
        complete(p->id);
        const auto a =
            expect_ok(exchange(p->common, "POST", "/discovery/" + route, identity_form(p->id)));
        print_done(
            p->common, a,
            (route == "renew" ? "renewed " : "cancelled ") + p->id.appid + " " + p->id.hostname);
      });
    });
  }
}

void add_set(CLI::App& app, int& exit_code, const SharedParsed& p) {
  auto& set = *app.add_subcommand("set", "change an instance's status and metadata");
  auto status = std::make_shared<int>(0);
  auto md = std::make_shared<std::vector<std::string>>();
  add_common(set, p->common);
  add_identity(set, p->id, false);
  set.add_option("--status", *status, "1 up, 2 down")->check(CLI::Range(1, 2));
  add_repeatable(set, "--metadata", *md, "key=value (repeatable), merged into the metadata");
  set.callback([&exit_code, p, status, md] {
    run("set", exit_code, [&] {
      complete(p->id);
      const auto metadata = parse_metadata(*md);
      if (*status == 0 && metadata.empty())
        throw Failure{"nothing to set: give --status or --metadata"};
      std::string form = identity_form(p->id);
      if (*status != 0) wire::append_field(form, "status", *status);
      if (!metadata.empty())
        wire::append_field(form, "metadata", wire::MetadataJson::of(metadata).text());
      const auto a = expect_ok(exchange(p->common, "POST", "/discovery/set", form));
      print_done(p->common, a, "set " + p->id.appid + " " + p->id.hostname);
    });
  });
}

// The options every read takes: the appids, --env, --zone.
void add_read_options(CLI::App& cmd, Parsed& p, bool many) {
  add_common(cmd, p.common);
  if (many) {
    cmd.add_option("appid", p.appids, "appids")->required();
  } else {
    cmd.add_option("appid", p.appids, "appid")->required()->expected(1);
  }
  cmd.add_option("--env", p.env, "env (default DEPLOY_ENV)");
  cmd.add_option("--zone", p.zone, "only this zone");
}

// fetch and fetchs also filter by status.
void add_status_option(CLI::App& cmd, Parsed& p) {
  cmd.add_option("--status", p.status, "1 up, 2 down, 3 both")
      ->capture_default_str()
      ->check(CLI::Range(1, 3));
}

std::string read_query(Parsed& p) {
  if (p.env.empty()) p.env = env_or("DEPLOY_ENV");
  if (p.env.empty()) throw Failure{"no env: give --env or set DEPLOY_ENV"};
  std::string q;
  wire::append_field(q, "env", p.env);
  if (!p.zone.empty()) wire::append_field(q, "zone", p.zone);
  for (const auto& a : p.appids)
    wire::append_field(q, "appid", a);
  return q;
}

std::string fetch_query(Parsed& p) {
  std::string q = read_query(p);
  wire::append_field(q, "status", p.status);
  return q;
}

void add_fetch(CLI::App& app, int& exit_code, const SharedParsed& p) {
  auto& fetch = *app.add_subcommand("fetch", "the instances of one app");
  add_read_options(fetch, *p, false);
  add_status_option(fetch, *p);
  fetch.callback([&exit_code, p] {
    run("fetch", exit_code, [&] {
      auto a = expect_ok(exchange(p->common, "GET", "/discovery/fetch?" + fetch_query(*p), ""));
      drop_unreadable(a.data);
      if (p->common.json) return print_json(a.data);
      Table t = instance_table();
      add_instances(t, instances_of(a.data));
      t.print(std::cout);
    });
  });
}

void add_fetchs(CLI::App& app, int& exit_code, const SharedParsed& p) {
  auto& fetchs = *app.add_subcommand("fetchs", "the instances of several apps");
  add_read_options(fetchs, *p, true);
  add_status_option(fetchs, *p);
  fetchs.callback([&exit_code, p] {
    run("fetchs", exit_code, [&] {
      auto a = expect_ok(exchange(p->common, "GET", "/discovery/fetchs?" + fetch_query(*p), ""));
      drop_unreadable_apps(a.data);
      if (p->common.json) return print_json(a.data);
      print_apps(a, std::cout);
    });
  });
}

void add_polls(CLI::App& app, int& exit_code, const SharedParsed& p) {
  auto& polls = *app.add_subcommand(
      "polls", "wait until one of the apps changes after the given timestamps (or 30 s pass)");
  auto timestamps = std::make_shared<std::vector<int64_t>>();
  auto hold_text = std::make_shared<std::string>("30s");
  add_read_options(polls, *p, true);
  add_repeatable(polls, "--latest-timestamp", *timestamps,
                 "the timestamp known for each appid, in order (default 0: answer as soon as "
                 "an app has an UP instance)");
  polls.add_option("--hold", *hold_text, "the longest the node may wait")->capture_default_str();
  polls.callback([&exit_code, p, timestamps, hold_text] {
    run("polls", exit_code, [&] {
      std::string q = read_query(*p);
      if (!timestamps->empty() && timestamps->size() != p->appids.size())
        throw Failure{"give one --latest-timestamp per appid, or none"};
      for (size_t i = 0; i < p->appids.size(); ++i)
        wire::append_field(q, "latest_timestamp", timestamps->empty() ? 0 : (*timestamps)[i]);
      wire::append_field(q, "hostname", env_or("HOSTNAME", "muster-cli"));
      const auto hold = parse_duration(*hold_text);
      if (!hold || *hold <= std::chrono::nanoseconds::zero())
        throw Failure{"--hold \"" + *hold_text + "\" is not a positive duration"};
      const auto hold_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*hold);
      auto a = expect_ok(exchange(p->common, "GET", "/discovery/polls?" + q, "", hold_ms), {-304});
      drop_unreadable_apps(a.data);
      if (a.code == -304) {
        if (p->common.json) return print_json(json::object{{"code", -304}});
        std::cout << "nothing changed within " << *hold_text << '\n';
        return;
      }
      if (p->common.json) return print_json(json::object{{"data", a.data}, {"error", a.error}});
      print_apps(a, std::cout);
      if (a.data.is_object()) {
        for (const auto& [appid, info] : a.data.get_object())
          if (info.is_object())
            std::cout << "latest_timestamp " << appid << " "
                      << wire::json_int(info.get_object(), "latest_timestamp") << '\n';
      }
    });
  });
}

void add_watch(CLI::App& app, int& exit_code, const SharedParsed& p) {
  auto& watch_cmd =
      *app.add_subcommand("watch", "print every change of the apps until interrupted");
  auto count = std::make_shared<size_t>(0);
  add_read_options(watch_cmd, *p, true);
  watch_cmd.add_option("--count", *count, "exit after this many reports (0: never)")
      ->capture_default_str();
  watch_cmd.callback([&exit_code, p, count] {
    run("watch", exit_code, [&] { watch(p->common, p->appids, p->env, p->zone, *count); });
  });
}

void add_nodes(CLI::App& app, int& exit_code, const SharedParsed& p) {
  auto& nodes = *app.add_subcommand("nodes", "the registry nodes a node knows and their status");
  add_common(nodes, p->common);
  nodes.callback([&exit_code, p] {
    run("nodes", exit_code, [&] {
      const auto a = expect_ok(exchange(p->common, "GET", "/discovery/nodes", ""));
      if (p->common.json) return print_json(a.data);
      Table t({"ADDR", "ZONE", "STATUS"});
      if (a.data.is_array()) {
        for (const auto& n : a.data.get_array()) {
          if (!n.is_object()) continue;
          const auto& o = n.get_object();
          t.add({wire::json_string(o, "addr"), wire::json_string(o, "zone"),
                 wire::json_int(o, "status") == 0 ? "UP" : "LOST"});
        }
      }
      t.print(std::cout);
    });
  });
}

}  // namespace

void add_client_commands(CLI::App& app, int& exit_code) {
  const auto parsed = std::make_shared<Parsed>();
  add_register(app, exit_code, parsed);
  add_renew_and_cancel(app, exit_code, parsed);
  add_set(app, exit_code, parsed);
  add_fetch(app, exit_code, parsed);
  add_fetchs(app, exit_code, parsed);
  add_polls(app, exit_code, parsed);
  add_watch(app, exit_code, parsed);
  add_nodes(app, exit_code, parsed);
}

}  // namespace muster::cli
