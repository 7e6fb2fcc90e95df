// The strict `muster sd` configuration: Prometheus's shape, errors that name the key and line.
#include "sd/config.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "sd/providers/all_providers.h"

namespace muster::sd {
namespace {

std::string error_of(std::string_view yaml) {
  auto r = parse_sd_config(yaml, "sd.yml");
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "";
}

// The settings of `config`, which must be a `Settings`.
template <class Settings>
const Settings& as(const ProviderConfig& config) {
  const Settings* settings = config.get_if<Settings>();
  if (!settings) throw std::runtime_error("a " + std::string(config.type()) + " config");
  return *settings;
}

SdConfig config_of(std::string_view yaml) {
  auto r = parse_sd_config(yaml);
  if (auto* e = std::get_if<std::string>(&r)) ADD_FAILURE() << *e;
  return std::holds_alternative<SdConfig>(r) ? std::get<SdConfig>(r) : SdConfig{};
}

TEST(SdConfig, ReadsEveryProviderAndTheOutput) {
  const SdConfig c = config_of(R"(
throttle: 0s
first_update_timeout: 2s
output:
  file_sd_dir: /tmp/out
  listen: 127.0.0.1:9999
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['a:1', 'b:1']
        labels: {rack: r1}
      - targets: ['c:1']
    file_sd_configs:
      - files: ['/etc/targets/*.json', 'x.yml']
        refresh_interval: 1m
  - job_name: web
    http_sd_configs: [{url: 'http://127.0.0.1:8080/sd?x=1'}]
    exec_sd_configs: [{command: [/bin/cmdb, --all], timeout: 5s}]
    dns_sd_configs: [{names: [_web._tcp.example.], nameserver: '127.0.0.1:5353'}]
    muster_sd_configs: [{nodes: ['127.0.0.1:7171'], env: prod, appids: [web.api]}]
    consul_sd_configs: [{server: '127.0.0.1:8500', services: [web], node_meta: {rack: '2304'}}]
)");
  EXPECT_EQ(c.throttle.count(), 0);
  EXPECT_EQ(c.first_update_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.output.file_sd_dir, "/tmp/out");
  EXPECT_EQ(c.output.listen, "127.0.0.1:9999");
  ASSERT_EQ(c.jobs.size(), 2u);
  ASSERT_EQ(c.jobs[0].providers.size(), 2u);  // the static configs merge into one provider
  const auto& statics = as<StaticConfig>(c.jobs[0].providers[0]);
  ASSERT_EQ(statics.groups.size(), 2u);
  EXPECT_EQ(statics.groups[0].source, "0");
  EXPECT_EQ(statics.groups[1].source, "1");
  EXPECT_EQ(statics.groups[0].labels.at("rack"), "r1");
  EXPECT_EQ(as<FileConfig>(c.jobs[0].providers[1]).refresh_interval, std::chrono::minutes(1));
  ASSERT_EQ(c.jobs[1].providers.size(), 5u);
  EXPECT_EQ(as<ExecConfig>(c.jobs[1].providers[1]).timeout, std::chrono::seconds(5));
  EXPECT_EQ(as<DnsConfig>(c.jobs[1].providers[2]).record_type, "SRV");
  EXPECT_EQ(c.jobs[1].providers[0].type(), "http");
  EXPECT_EQ(c.jobs[1].providers[4].type(), "consul");
  EXPECT_EQ(as<ConsulConfig>(c.jobs[1].providers[4]).node_meta,
            (std::map<std::string, std::string>{{"rack", "2304"}}));
}

TEST(SdConfig, DefaultsAsPrometheus) {
  const SdConfig c =
      config_of("jobs:\n  - job_name: a\n    file_sd_configs: [{files: [a.json]}]\n");
  EXPECT_EQ(c.throttle, std::chrono::seconds(5));
  EXPECT_EQ(c.first_update_timeout, std::chrono::seconds(30));
  EXPECT_EQ(as<FileConfig>(c.jobs[0].providers[0]).refresh_interval, std::chrono::minutes(5));
}

TEST(SdConfig, ErrorsNameTheKeyAndLine) {
  EXPECT_EQ(error_of("jobs:\n  - job_name: a\n    file_sd_config: []\n"),
            "sd.yml: line 3: unknown key \"file_sd_config\" in job");
  EXPECT_EQ(error_of("output:\n  dir: x\n"), "sd.yml: line 2: unknown key \"dir\" in output");
  EXPECT_EQ(error_of("jobs:\n  - job_name: a\n  - job_name: a\n"),
            "sd.yml: line 3: job_name \"a\" is used twice");
  EXPECT_NE(error_of("jobs:\n  - job_name: a/b\n").find("line 2"), std::string::npos);
  EXPECT_NE(error_of("jobs:\n  - static_configs: []\n").find("needs \"job_name\""),
            std::string::npos);
  EXPECT_NE(error_of("throttle: soon\n").find("\"throttle\""), std::string::npos);
  EXPECT_NE(error_of("jobs: [{job_name: a, file_sd_configs: [{files: ['*/x.json']}]}]"), "");
  EXPECT_NE(error_of("jobs: [{job_name: a, file_sd_configs: [{files: ['x.txt']}]}]"), "");
  EXPECT_NE(error_of("jobs: [{job_name: a, http_sd_configs: [{url: 'ftp://x/'}]}]"), "");
  EXPECT_NE(error_of("jobs: [{job_name: a, dns_sd_configs: [{names: [x], type: A}]}]")
                .find("\"port\" is required"),
            std::string::npos);
  EXPECT_NE(error_of("jobs: [{job_name: a, exec_sd_configs: [{command: []}]}]"), "");
  EXPECT_NE(
      error_of("jobs: [{job_name: a, muster_sd_configs: [{nodes: [x], env: e, appids: [a]}]}]"),
      "");
  EXPECT_NE(error_of("output: {listen: '127.0.0.1:99999999999999999999'}"), "");
  EXPECT_NE(error_of("jobs: [}"), "");
  EXPECT_NE(error_of("jobs: []\nscrape_configs: []\n"), "");
  EXPECT_NE(error_of("- a\n"), "");
}

TEST(SdConfig, TlsConfigOfTheHttpProviders) {
  const SdConfig c = config_of(R"(
jobs:
  - job_name: a
    http_sd_configs:
      - url: https://sd.example:8443/targets
        tls_config: {ca_file: ca.pem, cert_file: c.pem, key_file: c.key}
    consul_sd_configs:
      - server: 127.0.0.1:8501
        scheme: https
        tls_config: {ca_file: ca.pem}
    muster_sd_configs:
      - nodes: ['https://127.0.0.1:7171', '127.0.0.1:7172']
        env: prod
        appids: [web]
        tls_config: {ca_file: ca.pem}
)");
  ASSERT_EQ(c.jobs.size(), 1u);
  const auto& providers = c.jobs[0].providers;
  ASSERT_EQ(providers.size(), 3u);
  const HttpConfig* http = nullptr;
  const ConsulConfig* consul = nullptr;
  const MusterConfig* muster = nullptr;
  for (const auto& p : providers) {  // in all_providers.h's order
    if (!http) http = p.get_if<HttpConfig>();
    if (!consul) consul = p.get_if<ConsulConfig>();
    if (!muster) muster = p.get_if<MusterConfig>();
  }
  ASSERT_TRUE(http && consul && muster);
  EXPECT_EQ(http->tls, (TlsConfig{"ca.pem", "c.pem", "c.key"}));
  EXPECT_EQ(consul->scheme, "https");
  EXPECT_EQ(consul->tls.ca_file, "ca.pem");
  EXPECT_EQ(muster->nodes[0], "https://127.0.0.1:7171");
  EXPECT_EQ(muster->tls.ca_file, "ca.pem");
  EXPECT_EQ(error_of("jobs: [{job_name: a, http_sd_configs: [{url: 'https://x/', tls_config: "
                     "{cert_file: c.pem}}]}]"),
            "sd.yml: line 1: \"tls_config\": a client certificate needs both cert_file and "
            "key_file");
  EXPECT_EQ(error_of("jobs: [{job_name: a, http_sd_configs: [{url: 'https://x/', tls_config: "
                     "{insecure_skip_verify: true}}]}]"),
            "sd.yml: line 1: unknown key \"insecure_skip_verify\" in tls_config");
  EXPECT_NE(error_of("jobs: [{job_name: a, consul_sd_configs: [{scheme: ftp}]}]")
                .find("must be http or https"),
            std::string::npos);
}

TEST(SdConfig, EqualConfigsCompareEqual) {
  const SdConfig c = config_of(
      "jobs:\n  - job_name: a\n    file_sd_configs: [{files: [a.json]}]\n"
      "  - job_name: b\n    file_sd_configs: [{files: [a.json]}]\n");
  EXPECT_TRUE(c.jobs[0].providers[0] == c.jobs[1].providers[0]);
}

TEST(SdConfig, JobDiscoveryAndThePrometheusConfigOutput) {
  const SdConfig c = config_of(R"(
output:
  listen: 127.0.0.1:7272
  prometheus_config:
    file: /etc/prometheus/prometheus.yml
    template: /etc/prometheus/base.yml
    reload_url: http://127.0.0.1:9090/-/reload
    min_interval: 10s
job_discovery:
  - name: cmdb
    job_label: cmdb_group
    forget_removed_after: 1h
    max_jobs: 500
    exec_sd_configs: [{command: [/bin/cmdb]}]
    file_sd_configs: [{files: [/etc/groups/*.json]}]
)");
  const auto& p = c.output.prometheus_config;
  EXPECT_EQ(p.file, "/etc/prometheus/prometheus.yml");
  EXPECT_EQ(p.template_file, "/etc/prometheus/base.yml");
  EXPECT_FALSE(p.file_sd);
  EXPECT_EQ(p.sd_url, "http://127.0.0.1:7272") << "by default, where muster sd listens";
  EXPECT_EQ(p.refresh_interval, std::chrono::seconds(30));
  EXPECT_EQ(p.reload_url, "http://127.0.0.1:9090/-/reload");
  EXPECT_EQ(p.min_interval, std::chrono::seconds(10));
  ASSERT_EQ(c.job_sources.size(), 1u);
  EXPECT_EQ(c.job_sources[0].name, "cmdb");
  EXPECT_EQ(c.job_sources[0].job_label, "cmdb_group");
  EXPECT_EQ(c.job_sources[0].forget_removed_after, std::chrono::hours(1));
  EXPECT_EQ(c.job_sources[0].max_jobs, 500u);
  EXPECT_EQ(c.job_sources[0].providers.size(), 2u);
  EXPECT_TRUE(c.jobs.empty());
}

TEST(SdConfig, JobDiscoveryErrorsNameWhatIsWrong) {
  const std::string source = "job_discovery:\n  - {name: cmdb, job_label: g, ";
  EXPECT_EQ(error_of(source + "static_configs: [{targets: ['a:1']}]}"), "");
  EXPECT_NE(error_of("job_discovery:\n  - {name: cmdb, static_configs: [{targets: [a:1]}]}")
                .find("needs \"job_label\""),
            std::string::npos);
  EXPECT_NE(error_of("job_discovery:\n  - {name: cmdb, job_label: g}").find("has no *_sd_configs"),
            std::string::npos);
  EXPECT_NE(error_of("job_discovery:\n  - {name: 'a b', job_label: g, static_configs: [{}]}")
                .find("name \"a b\" must be"),
            std::string::npos);
  EXPECT_NE(error_of("job_discovery:\n  - {name: c, job_label: 'a-b', static_configs: [{}]}")
                .find("job_label \"a-b\" is not a label name"),
            std::string::npos);
  EXPECT_NE(error_of("job_discovery:\n  - {name: c, job_label: g, static_configs: [{}]}\n"
                     "  - {name: c, job_label: h, static_configs: [{}]}")
                .find("job_discovery name \"c\" is used twice"),
            std::string::npos);
  for (const char* bad : {"0", "-1", "x", "99999999"}) {
    EXPECT_NE(error_of(source + "max_jobs: '" + bad + "', static_configs: [{}]}")
                  .find("\"max_jobs\" must be a number from 1 to 9999999"),
              std::string::npos)
        << bad;
  }
  EXPECT_NE(error_of("output:\n  prometheus_config: {file: /p.yml}").find("needs output.listen"),
            std::string::npos);
  EXPECT_NE(error_of("output:\n  prometheus_config: {file: /p.yml, targets: file_sd}")
                .find("needs output.file_sd_dir"),
            std::string::npos);
  EXPECT_NE(error_of("output:\n  prometheus_config: {file: /p.yml, sd_url: 'ftp://x', "
                     "targets: http_sd}")
                .find("sd_url"),
            std::string::npos);
  EXPECT_NE(error_of("output:\n  listen: 127.0.0.1:1\n  prometheus_config: {file: /p.yml, "
                     "reload_url: localhost}")
                .find("reload_url"),
            std::string::npos);
}

}  // namespace
}  // namespace muster::sd
