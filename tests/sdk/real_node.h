#pragma once
// A real `muster serve` for SDK tests: started on a loopback port, stopped by its PID.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "muster/client.h"

namespace muster::testing {

inline uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

inline bool port_open(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// True once `check` holds, polling every 20 ms for at most `limit`.
inline bool eventually(const std::function<bool()>& check,
                       std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return check();
}

class RealNode {
 public:
  explicit RealNode(uint16_t port, std::vector<std::string> extra = {}) : port_(port) {
    std::vector<std::string> args = {
        MUSTER_BIN,    "serve", "--listen",        "127.0.0.1:" + std::to_string(port),
        "--log-level", "warn",  "--self-register", "false"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    if (!eventually([&] { return port_open(port_); }))
      throw std::runtime_error("node did not start");
  }
  ~RealNode() { stop(SIGTERM); }
  RealNode(const RealNode&) = delete;
  RealNode& operator=(const RealNode&) = delete;

  void stop(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  uint16_t port() const { return port_; }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  uint16_t port_;
  pid_t pid_ = -1;
};

// One blocking HTTP exchange with Connection: close; the body ("" on failure).
inline std::string http(uint16_t port, const std::string& method, const std::string& target,
                        const std::string& body = "") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "";
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (!body.empty())
    req += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
    out.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t at = out.find("\r\n\r\n");
  return at == std::string::npos ? "" : out.substr(at + 4);
}

// Options of a test client in sh/sh001/dev: short timeouts and back-off so that node switches
// happen within a test, and a 2 s poll hold.
inline ClientOptions options_for(std::vector<std::string> nodes, std::string hostname) {
  ClientOptions o;
  o.nodes = std::move(nodes);
  o.zone = "sh001";
  o.env = "dev";
  o.region = "sh";
  o.hostname = std::move(hostname);
  o.request_timeout = std::chrono::milliseconds(1000);
  o.backoff = std::chrono::milliseconds(50);
  o.max_backoff = std::chrono::milliseconds(200);
  o.poll_hold = std::chrono::milliseconds(2000);
  return o;
}

}  // namespace muster::testing
