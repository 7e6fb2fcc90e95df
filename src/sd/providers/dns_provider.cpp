#include "sd/providers/dns_provider.h"

#include <ares.h>
#include <arpa/inet.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>

#include "sd/providers/refresh_provider.h"

namespace muster::sd {

namespace asio = boost::asio;

namespace {

// One name's answer: the group, or why the lookup failed.
struct Lookup {
  DnsConfig* config = nullptr;
  std::string name;
  bool done = false;
  std::string error;
  TargetGroup group;
};

std::string ip_text(int family, const void* addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, addr, buf, sizeof buf);
  return buf;
}

LabelSet target(const std::string& name, std::string address, std::string srv_target = "",
                std::string srv_port = "") {
  return {{"__address__", std::move(address)},
          {"__meta_dns_name", name},
          {"__meta_dns_srv_record_target", std::move(srv_target)},
          {"__meta_dns_srv_record_port", std::move(srv_port)},
          {"__meta_dns_mx_record_target", ""}};
}

void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* l = static_cast<Lookup*>(arg);
  l->done = true;
  l->group.source = l->name;
  if (status == ARES_ENOTFOUND || status == ARES_ENODATA) return;  // an empty group
  if (status != ARES_SUCCESS) {
    l->error = ares_strerror(status);
    return;
  }
  const std::string port = std::to_string(l->config->port);
  if (l->config->record_type == "SRV") {
    ares_srv_reply* srv = nullptr;
    const int rc = ares_parse_srv_reply(abuf, alen, &srv);
    if (rc == ARES_ENODATA) return;
    if (rc != ARES_SUCCESS) {
      l->error = std::string("bad SRV answer: ") + ares_strerror(rc);
      return;
    }
    for (auto* r = srv; r != nullptr; r = r->next) {
      std::string host = r->host;
      while (!host.empty() && host.back() == '.')
        host.pop_back();
      const std::string p = std::to_string(r->port);
      l->group.targets.push_back(target(l->name, host + ":" + p, host + ".", p));
    }
    ares_free_data(srv);
  } else if (l->config->record_type == "A") {
    hostent* host = nullptr;
    ares_addrttl ttls[256];
    int n = 256;
    const int rc = ares_parse_a_reply(abuf, alen, &host, ttls, &n);
    if (rc == ARES_ENODATA) return;
    if (rc != ARES_SUCCESS) {
      l->error = std::string("bad A answer: ") + ares_strerror(rc);
      return;
    }
    for (int i = 0; i < n; ++i)
      l->group.targets.push_back(target(l->name, ip_text(AF_INET, &ttls[i].ipaddr) + ":" + port));
    if (host != nullptr) ares_free_hostent(host);
  } else {
    hostent* host = nullptr;
    ares_addr6ttl ttls[256];
    int n = 256;
    const int rc = ares_parse_aaaa_reply(abuf, alen, &host, ttls, &n);
    if (rc == ARES_ENODATA) return;
    if (rc != ARES_SUCCESS) {
      l->error = std::string("bad AAAA answer: ") + ares_strerror(rc);
      return;
    }
    for (int i = 0; i < n; ++i) {
      l->group.targets.push_back(
          target(l->name, "[" + ip_text(AF_INET6, &ttls[i].ip6addr) + "]:" + port));
    }
    if (host != nullptr) ares_free_hostent(host);
  }
}

// Looks every name up. c-ares's sockets are polled without blocking between short timer waits
// (5 ms): a refresh is rare (seconds apart) and small, and this keeps c-ares out of Asio's reactor.
asio::awaitable<RefreshProvider::Result> refresh(asio::io_context& io, DnsConfig config,
                                                 std::shared_ptr<ProviderStats> stats,
                                                 std::string name) {
  ares_options options{};
  options.timeout = 2000;
  options.tries = 2;
  options.flags = ARES_FLAG_EDNS;
  options.ednspsz = 4096;
  ares_channel channel = nullptr;
  if (const int rc = ares_init_options(
          &channel, &options,
          ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ);
      rc != ARES_SUCCESS)
    co_return std::string("cannot start the resolver: ") + ares_strerror(rc);
  std::unique_ptr<ares_channeldata, void (*)(ares_channel)> owned(channel, ares_destroy);
  if (!config.nameserver.empty()) {
    if (const int rc = ares_set_servers_ports_csv(channel, config.nameserver.c_str());
        rc != ARES_SUCCESS)
      co_return "nameserver " + config.nameserver + ": " + ares_strerror(rc);
  }
  const int type = config.record_type == "SRV" ? 33 : config.record_type == "A" ? 1 : 28;  // ns_t_*
  std::vector<std::unique_ptr<Lookup>> lookups;
  for (const auto& n : config.names) {
    auto l = std::make_unique<Lookup>();
    l->config = &config;
    l->name = n;
    ares_search(channel, n.c_str(), 1 /* ns_c_in */, type, on_answer, l.get());
    lookups.push_back(std::move(l));
  }
  asio::steady_timer tick(io);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
    std::vector<pollfd> fds;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
      if (events != 0) fds.push_back({socks[i], events, 0});
    }
    if (fds.empty()) break;  // every query answered or failed
    if (std::chrono::steady_clock::now() > deadline) break;
    ::poll(fds.data(), fds.size(), 0);
    bool any = false;
    for (const auto& p : fds) {
      if (p.revents == 0) continue;
      any = true;
      ares_process_fd(channel, (p.revents & (POLLIN | POLLERR | POLLHUP)) ? p.fd : ARES_SOCKET_BAD,
                      (p.revents & POLLOUT) ? p.fd : ARES_SOCKET_BAD);
    }
    if (!any) {
      ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // c-ares's own timeouts
      tick.expires_after(std::chrono::milliseconds(5));
      co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  owned.reset();  // cancels what is left: their callbacks run now, with ARES_EDESTRUCTION
  Groups groups;
  std::string failures;
  for (auto& l : lookups) {
    if (!l->done || !l->error.empty()) {
      stats->failures.inc();
      const std::string why = l->done ? l->error : "no answer";
      spdlog::error("sd {}: {} {}: {} (keeping its last targets)", name, config.record_type,
                    l->name, why);
      failures += (failures.empty() ? "" : "; ") + l->name + ": " + why;
      continue;
    }
    groups.push_back(std::move(l->group));
  }
  if (groups.empty() && !failures.empty()) co_return failures;
  co_return groups;
}

}  // namespace

MadeProvider make_provider(const DnsConfig& config, ProviderContext context) {
  static std::once_flag init;
  static int init_status = ARES_SUCCESS;
  std::call_once(init, [] { init_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (init_status != ARES_SUCCESS) return std::string("c-ares: ") + ares_strerror(init_status);
  asio::io_context& io = context.io;
  auto stats = context.stats;
  const std::string name = context.name;
  const milliseconds interval = config.refresh_interval;
  // A failed name is left out of a refresh and keeps its last group (not emptied as vanished).
  return std::make_unique<RefreshProvider>(
      std::move(context), interval,
      [&io, config, stats, name]() { return refresh(io, config, stats, name); },
      /*empty_vanished=*/false);
}

}  // namespace muster::sd
