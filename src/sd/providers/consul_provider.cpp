#include "sd/providers/consul_provider.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <map>
#include <set>

#include "common/endpoint.h"
#include "common/http_exchange.h"

namespace muster::sd {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : "";
}

const json::object& obj(const json::object& o, std::string_view key) {
  static const json::object empty;
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? v->get_object() : empty;
}

// __meta_consul_health: maintenance, else the worst of critical > warning > passing.
std::string health(const json::object& entry) {
  const auto* checks = entry.if_contains("Checks");
  if (checks == nullptr || !checks->is_array() || checks->get_array().empty()) return "passing";
  int worst = 0;  // 1 passing, 2 warning, 3 critical
  for (const auto& c : checks->get_array()) {
    if (!c.is_object()) continue;
    const std::string id = str(c.get_object(), "CheckID");
    if (id == "_node_maintenance" || id.rfind("_service_maintenance:", 0) == 0)
      return "maintenance";
    const std::string status = str(c.get_object(), "Status");
    const int rank = status == "passing"    ? 1
                     : status == "warning"  ? 2
                     : status == "critical" ? 3
                                            : -1;
    if (rank < 0) return "";
    worst = std::max(worst, rank);
  }
  return worst == 3 ? "critical" : worst == 2 ? "warning" : "passing";
}

std::string escape_query(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

struct Answer {
  std::string body;
  uint64_t index = 0;
};

}  // namespace

std::variant<TargetGroup, std::string> consul_group(std::string_view body,
                                                    const std::string& service,
                                                    const std::string& datacenter,
                                                    const std::string& tag_separator) {
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec);
  if (ec || !doc.is_array()) return std::string("health answer is not a JSON list");
  TargetGroup g;
  g.source = service;
  g.labels = {{"__meta_consul_service", service}, {"__meta_consul_dc", datacenter}};
  for (const auto& item : doc.get_array()) {
    if (!item.is_object()) continue;
    const auto& entry = item.get_object();
    const auto& node = obj(entry, "Node");
    const auto& svc = obj(entry, "Service");
    int64_t port = 0;
    if (const auto* p = svc.if_contains("Port"); p != nullptr && p->is_int64())
      port = p->get_int64();
    const std::string node_address = str(node, "Address");
    const std::string service_address = str(svc, "Address");
    const std::string& host = service_address.empty() ? node_address : service_address;
    std::string tags = tag_separator;
    if (const auto* t = svc.if_contains("Tags"); t != nullptr && t->is_array()) {
      for (const auto& tag : t->get_array())
        if (tag.is_string()) tags += std::string(tag.get_string()) + tag_separator;
    }
    if (tags == tag_separator) tags += tag_separator;  // no tags: ",,"
    std::vector<std::pair<std::string, std::string>> l{
        {"__address__", join_host_port(host, std::to_string(port))},  // Go's JoinHostPort
        {"__meta_consul_node", str(node, "Node")},
        {"__meta_consul_address", node_address},
        {"__meta_consul_service_id", str(svc, "ID")},
        {"__meta_consul_tags", tags},
        {"__meta_consul_service_address", service_address},
        {"__meta_consul_service_port", std::to_string(port)},
        {"__meta_consul_namespace", str(svc, "Namespace")},
        {"__meta_consul_partition", str(svc, "Partition")},
        {"__meta_consul_health", health(entry)}};
    auto each = [&](const json::object& map, const std::string& prefix) {
      for (const auto& [k, v] : map)
        if (v.is_string()) l.emplace_back(prefix + sanitize_label_name(k), v.get_string());
    };
    each(obj(node, "Meta"), "__meta_consul_metadata_");
    each(obj(node, "TaggedAddresses"), "__meta_consul_tagged_address_");
    each(obj(svc, "Meta"), "__meta_consul_service_metadata_");
    g.targets.emplace_back(std::move(l));  // a later name wins, as the map's [] did
  }
  return g;
}

namespace {

class ConsulProvider : public Provider, public std::enable_shared_from_this<ConsulProvider> {
 public:
  ConsulProvider(ConsulConfig config, ProviderContext context)
      : config_(std::move(config)), context_(std::move(context)) {
    if (config_.scheme != "https") return;
    auto tls = tls_context(config_.tls);
    if (auto* problem = std::get_if<std::string>(&tls))
      tls_error_ = "tls_config: " + *problem;
    else
      tls_ = std::get<0>(std::move(tls));
  }

  void start(Send send) override {
    send_ = std::move(send);
    asio::co_spawn(context_.io, run(shared_from_this()), asio::detached);
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ignored;
    for (auto* s : sockets_)
      s->close(ignored);
    for (auto* t : timers_)
      t->cancel();
  }

 private:
  static constexpr auto kRequestTimeout = std::chrono::seconds(135);  // common's 2 min 15 s

  // GET with the token; the answer of a 200, else nullopt (counted, logged).
  asio::awaitable<std::optional<Answer>> get(std::string target, const bool* cancelled) {
    std::string headers = "Accept: application/json\r\n";
    if (!config_.token.empty()) headers += "X-Consul-Token: " + config_.token + "\r\n";
    std::string request = http_request_bytes("GET", target, config_.server, headers);
    asio::ip::tcp::socket socket(context_.io);
    std::string why = tls_error_;
    std::optional<HttpResponse> response;
    if (why.empty()) {
      sockets_.insert(&socket);
      response = co_await http_exchange(socket, config_.server, std::move(request), kRequestTimeout,
                                        256ull * 1024 * 1024, tls_.get(), &why);
      sockets_.erase(&socket);
    }
    if (stopped_ || (cancelled != nullptr && *cancelled)) co_return std::nullopt;
    if (!response || response->result_int() != 200) {
      context_.stats->failures.inc();
      if (why.empty()) why = "no answer from " + config_.server;
      spdlog::error("sd {}: GET {}: {}", context_.name, target,
                    response
                        ? "Unexpected response code: " + std::to_string(response->result_int()) +
                              " (" + response->body().substr(0, 200) + ")"
                        : why);
      co_return std::nullopt;
    }
    Answer a;
    const auto index = (*response)["X-Consul-Index"];
    a.index = std::strtoull(std::string(index).c_str(), nullptr, 10);
    a.body = std::move(response->body());
    co_return a;
  }

  asio::awaitable<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer timer(context_.io, d);
    timers_.insert(&timer);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    timers_.erase(&timer);
  }

  // The common query parameters, in Go's url.Values order (keys sorted): dc, index, ...
  std::string query(uint64_t index, const std::vector<std::string>& tags) const {
    std::string q;
    auto add = [&](std::string_view k, std::string_view v) {
      q += (q.empty() ? "?" : "&") + std::string(k) + "=" + escape_query(v);
    };
    if (!config_.datacenter.empty()) add("dc", config_.datacenter);
    if (index != 0) add("index", std::to_string(index));
    for (const auto& [key, value] : config_.node_meta)
      add("node-meta", key + ":" + value);
    if (config_.allow_stale) add("stale", "");
    for (const auto& t : tags)
      add("tag", t);
    add("wait", "120000ms");
    return q;
  }

  static asio::awaitable<void> run(std::shared_ptr<ConsulProvider> self) {
    // The datacenter: configured, or the agent's (retried every 15 s, as Prometheus does).
    self->datacenter_ = self->config_.datacenter;
    while (self->datacenter_.empty() && !self->stopped_) {
      auto answer = co_await self->get("/v1/agent/self", nullptr);
      if (answer) {
        boost::system::error_code ec;
        const auto doc = json::parse(answer->body, ec);
        const json::value* dc = nullptr;
        if (!ec && doc.is_object()) {
          if (const auto* c = doc.get_object().if_contains("Config"); c && c->is_object())
            dc = c->get_object().if_contains("Datacenter");
        }
        if (dc != nullptr && dc->is_string() && !dc->get_string().empty()) {
          self->datacenter_ = std::string(dc->get_string());
          break;
        }
        self->context_.stats->failures.inc();
        spdlog::error("sd {}: invalid value for Config.Datacenter in /v1/agent/self",
                      self->context_.name);
      }
      co_await self->sleep(std::chrono::seconds(15));
    }
    if (self->stopped_) co_return;
    if (!self->config_.services.empty() && self->config_.tags.empty()) {
      for (const auto& s : self->config_.services)
        self->start_watcher(s);
      co_return;
    }
    uint64_t last_index = 0;
    std::map<std::string, std::shared_ptr<bool>> watching;  // service -> its cancel flag
    while (!self->stopped_) {
      const auto began = std::chrono::steady_clock::now();
      auto answer =
          co_await self->get("/v1/catalog/services" + self->query(last_index, {}), nullptr);
      if (self->stopped_) break;
      self->context_.stats->refreshes.inc();
      self->context_.stats->refresh_nanos.inc(
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now() - began)
                                    .count()));
      if (answer && answer->index != last_index) {
        last_index = answer->index;
        boost::system::error_code ec;
        const auto doc = json::parse(answer->body, ec);
        if (ec || !doc.is_object()) {
          self->context_.stats->failures.inc();
          spdlog::error("sd {}: catalog answer is not a JSON object", self->context_.name);
        } else {
          std::set<std::string> listed;
          for (const auto& [name, tags_value] : doc.get_object()) {
            const std::string service(name);
            listed.insert(service);
            std::vector<std::string> tags;
            if (tags_value.is_array())
              for (const auto& t : tags_value.get_array())
                if (t.is_string()) tags.emplace_back(t.get_string());
            if (!watching.contains(service) && consul_should_watch(self->config_, service, tags))
              watching[service] = self->start_watcher(service);
          }
          Groups gone;
          for (auto it = watching.begin(); it != watching.end();) {
            if (listed.contains(it->first)) {
              ++it;
              continue;
            }
            *it->second = true;  // its watcher stops and sends nothing more
            gone.push_back(TargetGroup{{}, {}, it->first});
            it = watching.erase(it);
          }
          if (!gone.empty()) {
            self->context_.stats->updates.inc();
            self->send_(std::move(gone));
          }
        }
      }
      co_await self->sleep(self->config_.refresh_interval);
    }
    for (auto& [name, cancelled] : watching)
      *cancelled = true;
  }

  std::shared_ptr<bool> start_watcher(const std::string& service) {
    auto cancelled = std::make_shared<bool>(false);
    asio::co_spawn(context_.io, watch(shared_from_this(), service, cancelled), asio::detached);
    return cancelled;
  }

  static asio::awaitable<void> watch(std::shared_ptr<ConsulProvider> self, std::string service,
                                     std::shared_ptr<bool> cancelled) {
    uint64_t last_index = 0;
    const std::string path =
        "/v1/health/service/" + boost::urls::encode(service, boost::urls::pchars);
    while (!self->stopped_ && !*cancelled) {
      auto answer =
          co_await self->get(path + self->query(last_index, self->config_.tags), cancelled.get());
      if (self->stopped_ || *cancelled) break;
      if (answer && answer->index != last_index) {
        last_index = answer->index;
        auto group =
            consul_group(answer->body, service, self->datacenter_, self->config_.tag_separator);
        if (auto* problem = std::get_if<std::string>(&group)) {
          self->context_.stats->failures.inc();
          spdlog::error("sd {}: service {}: {}", self->context_.name, service, *problem);
        } else {
          self->context_.stats->updates.inc();
          self->send_(Groups{std::move(std::get<TargetGroup>(group))});
        }
      }
      co_await self->sleep(self->config_.refresh_interval);
    }
  }

  ConsulConfig config_;
  ProviderContext context_;
  Send send_;
  std::string datacenter_;
  std::set<asio::ip::tcp::socket*> sockets_;  // in flight, closed by stop()
  std::shared_ptr<asio::ssl::context> tls_;   // with scheme https
  std::string tls_error_;                     // why tls_config made no context
  std::set<asio::steady_timer*> timers_;
  bool stopped_ = false;
};

class ConsulProviderHandle : public Provider {
 public:
  explicit ConsulProviderHandle(std::shared_ptr<ConsulProvider> p) : p_(std::move(p)) {}
  ~ConsulProviderHandle() override { p_->stop(); }
  void start(Send send) override { p_->start(std::move(send)); }
  void stop() override { p_->stop(); }

 private:
  std::shared_ptr<ConsulProvider> p_;
};

}  // namespace

bool consul_should_watch(const ConsulConfig& config, const std::string& name,
                         const std::vector<std::string>& tags) {
  if (!config.services.empty() &&
      std::find(config.services.begin(), config.services.end(), name) == config.services.end())
    return false;
  for (const auto& want : config.tags)
    if (std::find(tags.begin(), tags.end(), want) == tags.end()) return false;
  return true;
}

std::unique_ptr<Provider> make_provider(const ConsulConfig& config, ProviderContext context) {
  return std::make_unique<ConsulProviderHandle>(
      std::make_shared<ConsulProvider>(config, std::move(context)));
}

}  // namespace muster::sd
