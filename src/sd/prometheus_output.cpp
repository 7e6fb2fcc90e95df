#include "sd/prometheus_output.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/url/parse.hpp>
#include <fstream>
#include <sstream>

#include "common/atomic_file.h"
#include "common/http_exchange.h"
#include "sd/providers/tls_config.h"

namespace muster::sd {

namespace asio = boost::asio;
using Clock = JobSetDamper::Clock;

namespace {

constexpr int kReloadAttempts = 5;  // then given up until the next write
constexpr auto kReloadTimeout = std::chrono::seconds(10);

std::variant<std::string, std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::variant<std::string, std::string>(std::in_place_index<1>, "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return std::variant<std::string, std::string>(std::in_place_index<0>, text.str());
}

// One POST of the reload URL: "" when Prometheus answered 200, else what it said.
asio::awaitable<std::string> post_reload(asio::io_context& io, const std::string& reload_url) {
  const auto url = boost::urls::parse_uri(reload_url);
  if (!url) co_return "reload_url " + reload_url + " is not a URL";
  const bool https = url->scheme() == "https";
  const std::string port = url->has_port() ? std::string(url->port()) : https ? "443" : "80";
  std::shared_ptr<asio::ssl::context> tls;
  if (https) {
    auto made = tls_context(TlsConfig{});
    if (auto* problem = std::get_if<std::string>(&made)) co_return *problem;
    tls = std::get<0>(std::move(made));
  }
  std::string path(url->encoded_resource());
  if (path.empty()) path = "/";
  std::string request = http_request_bytes("POST", path, std::string(url->encoded_host_and_port()),
                                           "User-Agent: muster-sd\r\n");
  asio::ip::tcp::socket socket(io);
  std::string why;
  auto response =
      co_await http_exchange(socket, std::string(url->encoded_host()) + ":" + port,
                             std::move(request), kReloadTimeout, 1024 * 1024, tls.get(), &why);
  if (!response) co_return why.empty() ? "no answer (connection failed or timed out)" : why;
  if (response->result_int() == 200) co_return "";
  std::string body = response->body().substr(0, 512);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r'))
    body.pop_back();
  co_return "HTTP " + std::to_string(response->result_int()) + ": " + body;
}

}  // namespace

PrometheusOutput::PrometheusOutput(asio::io_context& io, PrometheusConfigOutput config,
                                   std::string file_sd_dir)
    : io_(io),
      config_(std::move(config)),
      file_sd_dir_(std::move(file_sd_dir)),
      damper_(config_.min_interval),
      timer_(io) {
  // What the file holds now counts as written: a restart that finds the same jobs writes nothing
  // and does not make Prometheus reload.
  if (auto text = read_text(config_.file); text.index() == 0) {
    last_text_ = std::get<0>(text);
    jobs_at_start_ = jobs_written_in(last_text_, config_, file_sd_dir_);
  }
}

PrometheusOutput::~PrometheusOutput() {
  stop();
}

void PrometheusOutput::stop() {
  *alive_ = false;
  timer_.cancel();
}

void PrometheusOutput::update(const DiscoveredSettings& discovered) {
  if (!*alive_) return;
  started_ = true;
  damper_.observe(Clock::now(), discovered);
  schedule();
}

void PrometheusOutput::refresh() {
  if (!*alive_ || !started_) return;
  retry_at_ = Clock::now();
  schedule();
}

void PrometheusOutput::schedule() {
  std::optional<Clock::time_point> next = damper_.due();
  if (retry_at_ && (!next || *retry_at_ < *next)) next = retry_at_;
  if (next == armed_for_) return;
  armed_for_ = next;
  if (!next) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(std::max(*next, Clock::now()));
  timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive) return;
    armed_for_.reset();
    write();
  });
}

void PrometheusOutput::write() {
  const auto now = Clock::now();
  const auto due = damper_.due();
  const bool damper_due = due && *due <= now;
  const bool retrying = retry_at_ && *retry_at_ <= now;
  if (!retrying && !damper_due) {
    schedule();
    return;
  }
  retry_at_.reset();
  // A retry or a new template renders what was last taken: it is no change of the jobs, and
  // does not restart the damper's interval.
  const DiscoveredSettings& discovered = damper_due ? damper_.take(now) : damper_.written();
  auto fail = [&](const std::string& problem) {
    write_failures.inc();
    spdlog::error("sd: prometheus_config {} not written: {}", config_.file, problem);
    retry_at_ =
        now + std::max<std::chrono::milliseconds>(config_.min_interval, std::chrono::seconds(5));
    schedule();
  };
  std::string template_text;
  if (!config_.template_file.empty()) {
    auto text = read_text(config_.template_file);
    if (text.index() == 1) return fail(std::get<1>(text));
    template_text = std::move(std::get<0>(text));
  }
  auto rendered = render_prometheus_config(template_text, discovered, config_, file_sd_dir_);
  if (auto* problem = std::get_if<std::string>(&rendered))
    return fail("template " + config_.template_file + ": " + *problem);
  auto& out = std::get<RenderedPrometheusConfig>(rendered);
  skipped_jobs.set(static_cast<int64_t>(out.skipped.size()));
  jobs.set(static_cast<int64_t>(discovered.size() - out.skipped.size()));
  for (const auto& why : out.skipped)
    spdlog::warn("sd: prometheus_config: discovered job {}", why);
  if (out.text != last_text_) {
    if (auto problem = replace_file(config_.file, out.text); !problem.empty()) return fail(problem);
    last_text_ = std::move(out.text);
    writes.inc();
    spdlog::info("sd: prometheus_config {} written ({} discovered jobs)", config_.file,
                 discovered.size() - out.skipped.size());
    start_reload();
  }
  schedule();
}

void PrometheusOutput::start_reload() {
  if (config_.reload_url.empty()) return;
  const uint64_t generation = ++reload_generation_;
  asio::co_spawn(
      io_,
      [this, alive = alive_, generation]() -> asio::awaitable<void> {
        asio::steady_timer backoff(io_);
        for (int attempt = 0; attempt < kReloadAttempts; ++attempt) {
          const std::string problem = co_await post_reload(io_, config_.reload_url);
          if (!*alive || generation != reload_generation_) co_return;  // superseded or stopped
          if (problem.empty()) {
            reloads.inc();
            co_return;
          }
          spdlog::warn("sd: POST {} (attempt {} of {}): {}", config_.reload_url, attempt + 1,
                       kReloadAttempts, problem);
          if (attempt + 1 == kReloadAttempts) break;
          backoff.expires_after(std::chrono::seconds(1 << attempt));
          auto [ec] = co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
          if (ec || !*alive || generation != reload_generation_) co_return;
        }
        reload_failures.inc();
        spdlog::error("sd: Prometheus did not reload {}; it runs the configuration it had",
                      config_.file);
      },
      asio::detached);
}

}  // namespace muster::sd
