// dns_sd against a real DNS server: dnsmasq on a loopback port, serving a zone from flags.
#include "sd/providers/dns_provider.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "provider_harness.h"
#include "sdk/real_node.h"

namespace muster::sd {
namespace {

using namespace std::chrono_literals;

// dnsmasq with no upstream: it answers for sd.test only (NXDOMAIN for unknown names there).
class Dnsmasq {
 public:
  Dnsmasq() : port_(muster::testing::free_port()) {
    pid_file_ = std::filesystem::temp_directory_path() /
                ("muster-dns-test-" + std::to_string(::getpid()) + ".pid");
    std::vector<std::string> args = {"dnsmasq",
                                     "--keep-in-foreground",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--conf-file=/dev/null",
                                     "--port=" + std::to_string(port_),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--pid-file=" + pid_file_.string(),
                                     "--local=/sd.test/",
                                     "--srv-host=_web._tcp.sd.test,host1.sd.test,8080,0,10",
                                     "--srv-host=_web._tcp.sd.test,host2.sd.test,8081,0,20",
                                     "--host-record=a.sd.test,10.0.0.1,fd00::1",
                                     "--log-facility=/dev/null"};
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      _exit(127);
    }
    // UDP: wait for the TCP side, which dnsmasq opens with it.
    if (!muster::testing::eventually([&] { return muster::testing::port_open(port_); }))
      throw std::runtime_error("dnsmasq did not start");
  }
  ~Dnsmasq() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    std::filesystem::remove(pid_file_);
  }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  uint16_t port_;
  pid_t pid_ = -1;
  std::filesystem::path pid_file_;
};

std::unique_ptr<Provider> start(testing::Harness& h, DnsConfig config) {
  auto made = make_provider(config, h.context("dns/0"));
  auto p = std::move(std::get<std::unique_ptr<Provider>>(made));
  p->start(h.sender());
  return p;
}

DnsConfig config(std::vector<std::string> names, std::string type, uint16_t port,
                 std::string nameserver, milliseconds interval = 1h) {
  DnsConfig c;
  c.names = std::move(names);
  c.record_type = std::move(type);
  c.port = port;
  c.nameserver = std::move(nameserver);
  c.refresh_interval = interval;
  return c;
}

TEST(DnsProvider, SrvRecordsBecomeTargets) {
  Dnsmasq dns;
  testing::Harness h;
  auto p = start(h, config({"_web._tcp.sd.test"}, "SRV", 0, dns.addr()));
  ASSERT_TRUE(h.run_until([&] { return !h.batches.empty(); }));
  auto got = h.addresses();
  std::sort(got.begin(), got.end());  // in the server's order, which varies
  ASSERT_EQ(got, (std::vector<std::string>{"host1.sd.test:8080", "host2.sd.test:8081"}));
  const auto& targets = h.merged.at("_web._tcp.sd.test").targets;
  const auto& t = targets[0].at("__address__") == "host1.sd.test:8080" ? targets[0] : targets[1];
  EXPECT_EQ(t.at("__meta_dns_name"), "_web._tcp.sd.test");
  EXPECT_EQ(t.at("__meta_dns_srv_record_target"), "host1.sd.test.");
  EXPECT_EQ(t.at("__meta_dns_srv_record_port"), "8080");
  EXPECT_EQ(t.at("__meta_dns_mx_record_target"), "");
  EXPECT_EQ(h.stats->failures.value(), 0u);
  p->stop();
}

TEST(DnsProvider, AAndAaaaRecordsUseThePort) {
  Dnsmasq dns;
  testing::Harness h4, h6;
  auto p4 = start(h4, config({"a.sd.test"}, "A", 9100, dns.addr()));
  auto p6 = start(h6, config({"a.sd.test"}, "AAAA", 9100, dns.addr()));
  ASSERT_TRUE(h4.run_until([&] { return !h4.batches.empty(); }));
  ASSERT_TRUE(h6.run_until([&] { return !h6.batches.empty(); }));
  EXPECT_EQ(h4.addresses(), (std::vector<std::string>{"10.0.0.1:9100"}));
  EXPECT_EQ(h6.addresses(), (std::vector<std::string>{"[fd00::1]:9100"}));
  EXPECT_EQ(h4.merged.at("a.sd.test").targets[0].at("__meta_dns_srv_record_target"), "");
  p4->stop();
  p6->stop();
}

TEST(DnsProvider, NxdomainIsAnEmptyGroupNotAFailure) {
  Dnsmasq dns;
  testing::Harness h;
  auto p = start(h, config({"missing.sd.test", "a.sd.test"}, "A", 80, dns.addr()));
  ASSERT_TRUE(h.run_until([&] { return !h.batches.empty(); }));
  ASSERT_EQ(h.batches[0].size(), 2u);
  EXPECT_TRUE(h.batches[0][0].source == "missing.sd.test" && h.batches[0][0].targets.empty());
  EXPECT_EQ(h.stats->failures.value(), 0u);
  p->stop();
}

TEST(DnsProvider, FailedLookupKeepsTheLastGroup) {
  auto dns = std::make_unique<Dnsmasq>();
  testing::Harness h;
  auto p = start(h, config({"a.sd.test"}, "A", 80, dns->addr(), 200ms));
  ASSERT_TRUE(h.run_until([&] { return h.addresses().size() == 1; }));
  dns->stop();  // now nothing answers on that port
  ASSERT_TRUE(h.run_until([&] { return h.stats->failures.value() >= 1; }, 30s));
  EXPECT_EQ(h.addresses(), (std::vector<std::string>{"10.0.0.1:80"}));
  p->stop();
}

}  // namespace
}  // namespace muster::sd
