#include "cli/sd_command.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>
#include <stdexcept>

#include "cli/fd_limit.h"
#include "common/endpoint.h"
#include "http/server.h"
#include "sd/http_api.h"
#include "sd/service.h"

namespace muster::cli {

namespace {

int run_sd(const std::string& config_path, const std::string& log_level) {
  // Also makes spdlog's registry here, before the sd thread and the workers log.
  spdlog::set_level(spdlog::level::from_str(log_level));
  // Signals are caught before anything starts, so a SIGHUP or SIGTERM is never fatal.
  boost::asio::io_context main;
  boost::asio::signal_set stop_signals(main, SIGINT, SIGTERM);
  boost::asio::signal_set reload_signal(main, SIGHUP);
  auto started = sd::Service::start(config_path);
  if (auto* problem = std::get_if<std::string>(&started)) {
    spdlog::error("muster sd: {}", *problem);
    return 1;
  }
  auto service = std::move(std::get<std::unique_ptr<sd::Service>>(started));
  const auto& output = service->initial_config().output;

  http::Router router;
  sd::add_sd_routes(router, *service);
  std::unique_ptr<http::Server> server;
  if (!output.listen.empty()) {
    http::ServerOptions options;
    const auto listen = parse_host_port(output.listen);  // checked when the config was read
    if (!listen) throw std::logic_error("listen \"" + output.listen + "\" is not host:port");
    options.host = listen->host;
    options.port = listen->port;
    options.threads = 2;
    // Prometheus opens one http_sd connection per job, and each of its reloads leaves the old
    // ones idle until the idle timeout: a fleet's jobs need more than the default 1,024.
    options.max_connections = connection_limit(options.max_connections, raise_fd_limit());
    server = std::make_unique<http::Server>(options, router);
    try {
      server->start();
    } catch (const std::system_error& e) {
      spdlog::error("muster sd: {}", e.what());  // what() names the address and the reason
      return 1;
    }
  }
  const auto& initial = service->initial_config();
  spdlog::info("muster sd running: {} job{}{} from {}{}{}{}", initial.jobs.size(),
               initial.jobs.size() == 1 ? "" : "s",
               initial.job_sources.empty()
                   ? ""
                   : " and " + std::to_string(initial.job_sources.size()) +
                         " job_discovery source" + (initial.job_sources.size() == 1 ? "" : "s"),
               config_path,
               output.file_sd_dir.empty() ? "" : ", file_sd output in " + output.file_sd_dir,
               output.prometheus_config.file.empty()
                   ? ""
                   : ", Prometheus configuration in " + output.prometheus_config.file,
               output.listen.empty()
                   ? ""
                   : ", http on " + server->bound_host() + ":" + std::to_string(server->port()));

  std::function<void()> wait_reload = [&] {
    reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::info("SIGHUP: reloading {}", config_path);
      service->reload();
      wait_reload();
    });
  };
  wait_reload();
  stop_signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) spdlog::info("signal {}: shutting down", sig);
    main.stop();
  });
  main.run();
  if (server) server->shutdown();
  service->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

void add_sd_command(CLI::App& app, int& exit_code) {
  auto config = std::make_shared<std::string>();
  auto log_level = std::make_shared<std::string>("info");
  CLI::App* cmd = app.add_subcommand(
      "sd",
      "Run the discovery manager: jobs of providers -> file_sd files and an http_sd endpoint.");
  cmd->add_option("--config,-c", *config,
                  "The YAML configuration (its keys: the README's muster sd section; an example: "
                  "examples/sd/sd.yml)")
      ->required();
  cmd->add_option("--log-level", *log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  cmd->callback([config, log_level, &exit_code] { exit_code = run_sd(*config, *log_level); });
}

}  // namespace muster::cli
