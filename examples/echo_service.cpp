// A service that registers itself with muster and answers every HTTP request with its hostname.
//
//   DISCOVERY_NODES=127.0.0.1:7171 ZONE=sh001 DEPLOY_ENV=dev HOSTNAME=echo-1 \
//     ./echo_service echo 8001
//
// It stays registered (renewed every 30 s, registered again if a node forgets it) until SIGINT or
// SIGTERM, when the Registrar's destructor cancels the registration.
#include <muster/registrar.h>

#include <boost/asio.hpp>
#include <iostream>
#include <string>
#include <variant>

namespace asio = boost::asio;
using asio::ip::tcp;

// Answers one connection: reads the request head, sends "hello from HOSTNAME".
asio::awaitable<void> answer(tcp::socket socket, std::string hostname) {
  std::string request;
  auto [ec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(request), "\r\n\r\n",
                                                 asio::as_tuple(asio::use_awaitable));
  if (ec) co_return;
  const std::string body = "hello from " + hostname + "\n";
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  co_await asio::async_write(socket, asio::buffer(response), asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> serve(tcp::acceptor& acceptor, std::string hostname) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    asio::co_spawn(acceptor.get_executor(), answer(std::move(socket), hostname), asio::detached);
  }
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr
        << "usage: echo_service APPID PORT (and DISCOVERY_NODES, ZONE, DEPLOY_ENV, HOSTNAME)\n";
    return 2;
  }
  auto options = muster::options_from_environment();
  if (auto* problem = std::get_if<std::string>(&options)) {
    std::cerr << "echo_service: " << *problem << '\n';
    return 1;
  }
  const auto& client_options = std::get<muster::ClientOptions>(options);

  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                           static_cast<uint16_t>(std::stoi(argv[2]))));
  const auto port = acceptor.local_endpoint().port();

  muster::Client client(client_options);
  muster::Registration registration;
  registration.appid = argv[1];
  registration.addrs = {"http://127.0.0.1:" + std::to_string(port)};
  registration.version = "1.0.0";
  registration.metadata = {{"weight", "100"}};
  muster::Registrar registrar(client, registration);  // registers now, renews until destroyed

  asio::signal_set stop(io, SIGINT, SIGTERM);
  stop.async_wait([&](auto, int) { acceptor.close(); });
  asio::co_spawn(io, serve(acceptor, client_options.hostname), asio::detached);
  std::cout << "echo_service " << client_options.hostname << " serving on 127.0.0.1:" << port
            << std::endl;
  io.run();
  std::cout << "cancelled: " << (registrar.cancel() ? "yes" : "no") << std::endl;
  return 0;
}
