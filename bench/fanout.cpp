// Fan-out benchmark: park N long polls on one app, register one instance, and time how long the
// node takes to answer every poller. Each poller polls again on its connection as soon as its
// answer is whole, as real clients do. A plain epoll client, so that the generator is not what is
// measured. Usage: fanout PORT N [SERVER_PID] [native|consul]; with the PID it also reports the
// CPU time the server spent from the register to the last answer. `consul` parks Consul blocking
// queries (/v1/health/service/<app>?index=...) instead of native polls.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int connect_to(const char* host, int port, bool blocking) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host, &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!blocking) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// One blocking request with Connection: close; returns the whole answer.
std::string exchange(const char* host, int port, const std::string& request) {
  const int fd = connect_to(host, port, true);
  if (fd < 0) return {};
  send(fd, request.data(), request.size(), 0);
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
    out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

std::string post_register(const std::string& hostname) {
  const std::string body = "zone=sh001&env=bench&appid=bench.fanout&hostname=" + hostname +
                           "&status=1&addrs=http%3A%2F%2F10.0.0.1%3A8000";
  return "POST /discovery/register HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
         "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

long long number_after(const std::string& text, const std::string& key) {
  const size_t at = text.rfind(key);
  return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + key.size());
}

// utime + stime of a process, in clock ticks (0 if unknown).
long long cpu_ticks(int pid) {
  if (pid <= 0) return 0;
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return 0;
  char buf[4096];
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces
  long long utime = 0, stime = 0;
  if (p == nullptr || std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld",
                                  &utime, &stime) != 2)
    return 0;
  return utime + stime;
}

bool consul_mode = false;

double parked(const char* host, int port) {
  const std::string m =
      exchange(host, port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string name =
      consul_mode ? "\nmuster_consul_blocking_queries " : "\nmuster_parked_polls ";
  const size_t at = m.find(name);
  return at == std::string::npos ? -1 : std::atof(m.c_str() + at + name.size());
}

// The next request of poller i, from what it knows: the app's latest_timestamp (native) or the
// X-Consul-Index (consul).
std::string poll_request(int i, long long latest) {
  if (consul_mode) {
    return "GET /v1/health/service/bench.fanout?ns=bench&dc=sh001&wait=60s&index=" +
           std::to_string(latest) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  return "GET /discovery/polls?env=bench&hostname=f" + std::to_string(i) +
         "&appid=bench.fanout&latest_timestamp=" + std::to_string(latest) +
         " HTTP/1.1\r\nHost: x\r\n\r\n";
}

// What a poller learns from an answer (see poll_request).
long long learned(const std::string& answer) {
  return consul_mode ? number_after(answer, "X-Consul-Index: ")
                     : number_after(answer, "\"latest_timestamp\":");
}

bool good(const std::string& answer) {
  return consul_mode ? answer.rfind("HTTP/1.1 200", 0) == 0
                     : answer.find("\"code\":0,") != std::string::npos;
}

// True once `buf` holds a complete answer (headers plus Content-Length bytes).
bool complete(const std::string& buf) {
  const size_t end = buf.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  const long long len = number_after(buf.substr(0, end), "Content-Length: ");
  return len >= 0 && buf.size() >= end + 4 + static_cast<size_t>(len);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: fanout PORT N [SERVER_PID] [native|consul]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int n = std::atoi(argv[2]);
  const char* host = "127.0.0.1";
  const int server_pid = argc > 3 ? std::atoi(argv[3]) : 0;
  consul_mode = argc > 4 && std::strcmp(argv[4], "consul") == 0;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  exchange(host, port, post_register("first"));
  const std::string fetched =
      exchange(host, port,
               consul_mode ? "GET /v1/health/service/bench.fanout?ns=bench&dc=sh001 "
                             "HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                           : "GET /discovery/fetch?env=bench&appid=bench.fanout&status=1 "
                             "HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const long long lts = learned(fetched);
  if (lts <= 0) {
    std::fprintf(stderr, "could not read latest_timestamp: %s\n", fetched.c_str());
    return 1;
  }
  const int ep = epoll_create1(0);
  std::vector<int> fds(static_cast<size_t>(n), -1);
  std::vector<std::string> bufs(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int fd = connect_to(host, port, false);
    if (fd < 0) {
      std::fprintf(stderr, "connect %d failed: %s\n", i, std::strerror(errno));
      return 1;
    }
    const std::string req = poll_request(i, lts);
    if (send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size())) return 1;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    fds[static_cast<size_t>(i)] = fd;
  }
  const auto park_deadline = Clock::now() + std::chrono::seconds(60);
  while (parked(host, port) < n) {
    if (Clock::now() > park_deadline) {
      std::fprintf(stderr, "only %.0f of %d polls parked\n", parked(host, port), n);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // The register goes out on a connection opened beforehand, so connect time is not counted.
  const int reg = connect_to(host, port, true);
  const std::string reg_req = post_register("second");
  if (getenv("FANOUT_PAUSE")) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const long long ticks0 = cpu_ticks(server_pid);
  const auto t0 = Clock::now();
  send(reg, reg_req.data(), reg_req.size(), 0);
  std::vector<double> done_ms;
  done_ms.reserve(static_cast<size_t>(n));
  int bad = 0;
  std::vector<epoll_event> events(1024);
  char buf[65536];
  const auto deadline = t0 + std::chrono::seconds(30);
  while (static_cast<int>(done_ms.size()) < n && Clock::now() < deadline) {
    const int k = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int e = 0; e < k; ++e) {
      const auto i = events[static_cast<size_t>(e)].data.u32;
      const int fd = fds[i];
      // Stops reading once the answer is whole: a further recv would only say EAGAIN.
      bool whole = false;
      for (ssize_t got; !whole && (got = recv(fd, buf, sizeof buf, 0)) > 0;) {
        bufs[i].append(buf, static_cast<size_t>(got));
        whole = complete(bufs[i]);
      }
      if (whole) {
        done_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (!good(bufs[i])) ++bad;
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        // Like a real client, poll again at once on the same connection with what it learned;
        // the node parks that poll while it is still answering the others.
        const long long next = learned(bufs[i]);
        const std::string again = poll_request(static_cast<int>(i), next > 0 ? next : lts);
        send(fd, again.data(), again.size(), MSG_NOSIGNAL);
      }
    }
  }
  const long long ticks = cpu_ticks(server_pid) - ticks0;
  close(reg);
  for (int fd : fds)
    close(fd);
  std::sort(done_ms.begin(), done_ms.end());
  const auto at = [&](double q) {
    return done_ms.empty() ? -1 : done_ms[static_cast<size_t>(q * (done_ms.size() - 1))];
  };
  std::printf(
      "fanout pollers=%d answered=%zu not_code_0=%d first_ms=%.1f p50_ms=%.1f p99_ms=%.1f "
      "last_ms=%.1f",
      n, done_ms.size(), bad, at(0), at(0.5), at(0.99), at(1.0));
  if (server_pid > 0) {
    std::printf(" server_cpu_ms=%.0f",
                1000.0 * static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK)));
  }
  std::printf("\n");
  return static_cast<int>(done_ms.size()) == n && bad == 0 ? 0 : 1;
}
