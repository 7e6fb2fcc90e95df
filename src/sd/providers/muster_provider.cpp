#include "sd/providers/muster_provider.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include "muster/client.h"
#include "muster/resolver.h"
#include "wire/prometheus_target.h"

namespace muster::sd {

namespace asio = boost::asio;

TargetGroup muster_group(const std::string& appid, const std::vector<Instance>& instances,
                         const std::string& scheme) {
  TargetGroup group;
  group.source = appid;
  for (const auto& in : instances) {
    std::string address;
    for (const auto& a : in.addrs)
      if (address.empty()) address = wire::scrape_address(a, scheme);
    if (address.empty()) continue;
    wire::TargetInstance t{in.appid.empty() ? appid : in.appid,
                           in.env,
                           in.zone,
                           in.region,
                           in.hostname,
                           in.version,
                           in.status,
                           {in.metadata.begin(), in.metadata.end()}};
    auto labels = wire::muster_target_labels(t, address, scheme);
    group.targets.emplace_back(
        std::vector<std::pair<std::string, std::string>>(labels.begin(), labels.end()));
  }
  return group;
}

namespace {

std::string own_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "muster-sd";
  return name;
}

class MusterProvider : public Provider {
 public:
  MusterProvider(MusterConfig config, ProviderContext context, std::unique_ptr<Client> client)
      : config_(std::move(config)),
        context_(std::move(context)),
        client_(std::move(client)),
        alive_(std::make_shared<bool>(true)) {}

  ~MusterProvider() override { stop(); }

  void start(Send send) override {
    resolver_ = std::make_unique<Resolver>(*client_);
    WatchOptions options;
    options.filter.zone = config_.zone;
    options.filter.up_only = false;
    options.keep_last_on_empty = false;  // an app gone is an empty group, never stale targets
    for (const auto& appid : config_.appids) {
      resolver_->subscribe(
          appid, options,
          [appid, scheme = config_.scheme, io = &context_.io, stats = context_.stats,
           alive = std::weak_ptr<bool>(alive_), send](const std::vector<Instance>& list) {
            // On the client's thread: convert here, hand over to the io_context.
            TargetGroup group = muster_group(appid, list, scheme);
            asio::post(*io, [alive, stats, send, group = std::move(group)]() mutable {
              if (!alive.lock()) return;
              stats->refreshes.inc();
              send(Groups{std::move(group)});
            });
          });
    }
  }

  void stop() override {
    alive_.reset();
    resolver_.reset();  // no callback runs after this returns
  }

 private:
  MusterConfig config_;
  ProviderContext context_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Resolver> resolver_;
  std::shared_ptr<bool> alive_;
};

}  // namespace

MadeProvider make_provider(const MusterConfig& config, ProviderContext context) {
  ClientOptions options;
  options.nodes = config.nodes;
  options.env = config.env;
  options.zone = config.zone.empty() ? "sd" : config.zone;
  options.hostname = own_hostname();
  options.token = config.token;
  options.ca_file = config.tls.ca_file;
  options.cert_file = config.tls.cert_file;
  options.key_file = config.tls.key_file;
  // Every provider reports its failures the same way: a log line with the reason, and a count.
  // The client calls these on its own thread; the count and the line are made on the sd's.
  const auto report = [io = &context.io, stats = context.stats,
                       name = context.name](std::string what) {
    asio::post(*io, [stats, name, what = std::move(what)] {
      stats->failures.inc();
      spdlog::error("sd {}: {}", name, what);
    });
  };
  options.on_poll_error = [report](const std::string& node, const std::string& reason) {
    report("muster node " + node + ": " + reason +
           " (keeping the last targets, trying the next node)");
  };
  options.on_unreadable = [report](const std::string& node, size_t skipped) {
    report("muster node " + node + ": skipped " + std::to_string(skipped) +
           " unreadable instance(s) (text that is not valid UTF-8)");
  };
  auto made = Client::create(options);
  if (auto* problem = std::get_if<std::string>(&made)) return *problem;
  return std::make_unique<MusterProvider>(config, std::move(context),
                                          std::move(std::get<std::unique_ptr<Client>>(made)));
}

}  // namespace muster::sd
