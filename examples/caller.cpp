// A caller that finds a service through muster, follows its instances by long poll, balances
// over them (round robin; see balancer.h for the other policies) and retries a failed call on
// another instance.
//
//   DISCOVERY_NODES=127.0.0.1:7171 ZONE=sh001 DEPLOY_ENV=dev HOSTNAME=caller-1 ./caller echo 10
#include <muster/balancer.h>
#include <muster/resolver.h>
#include <muster/retry.h>

#include <boost/asio.hpp>
#include <iostream>
#include <map>
#include <string>
#include <variant>

namespace asio = boost::asio;
using asio::ip::tcp;

// GET / from "http://host:port"; the body, or throws.
std::string http_get(const std::string& addr) {
  const std::string hostport = addr.substr(addr.find("://") + 3);
  const auto colon = hostport.rfind(':');
  asio::io_context io;
  tcp::socket socket(io);
  asio::connect(socket,
                tcp::resolver(io).resolve(hostport.substr(0, colon), hostport.substr(colon + 1)));
  const std::string request =
      "GET / HTTP/1.1\r\nHost: " + hostport + "\r\nConnection: close\r\n\r\n";
  asio::write(socket, asio::buffer(request));
  std::string response;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(response), ec);  // until the server closes
  const auto body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos)
    throw std::runtime_error("bad answer");
  return response.substr(body + 4);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: caller APPID CALLS (and DISCOVERY_NODES, ZONE, DEPLOY_ENV, HOSTNAME)\n";
    return 2;
  }
  const std::string appid = argv[1];
  const int calls = std::stoi(argv[2]);
  auto options = muster::options_from_environment();
  if (auto* problem = std::get_if<std::string>(&options)) {
    std::cerr << "caller: " << *problem << '\n';
    return 1;
  }
  muster::Client client(std::get<muster::ClientOptions>(options));
  muster::Balancer balancer(muster::Policy::kRoundRobin);
  muster::Resolver resolver(client);
  muster::WatchOptions watch;
  watch.filter.schemes = {"http"};
  // Runs on the client's thread after every change: hand the new list to the balancer.
  resolver.subscribe(appid, watch, [&](const std::vector<muster::Instance>& instances) {
    balancer.update(instances);
  });
  if (!resolver.wait_ready(appid, std::chrono::seconds(10)) || balancer.size() == 0) {
    std::cerr << "caller: no instance of " << appid << " found\n";
    return 1;
  }
  std::cout << "found " << balancer.size() << " instance(s) of " << appid << std::endl;

  std::map<std::string, int> answers;
  muster::RetryOptions retry_options;
  retry_options.max_attempts = 3;
  retry_options.deadline = std::chrono::seconds(2);
  int failed = 0;
  for (int i = 0; i < calls; ++i) {
    const auto result = muster::retry(balancer, retry_options,
                                      [&](const muster::Instance& instance, auto) -> std::string {
                                        try {
                                          const std::string body = http_get(instance.addrs.front());
                                          ++answers[body.substr(0, body.find('\n'))];
                                          return {};
                                        } catch (const std::exception& e) {
                                          return e.what();
                                        }
                                      });
    if (!result.ok) {
      ++failed;
      std::cerr << "call " << i << " failed after " << result.attempts
                << " attempt(s): " << result.error << '\n';
    }
  }
  for (const auto& [answer, count] : answers)
    std::cout << count << " x " << answer << '\n';
  return failed == 0 ? 0 : 1;
}
