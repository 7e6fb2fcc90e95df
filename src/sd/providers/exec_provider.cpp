#include "sd/providers/exec_provider.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>

#include "sd/groups_json_reader.h"
#include "sd/providers/refresh_provider.h"

extern char** environ;

namespace muster::sd {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Pipe = asio::posix::stream_descriptor;

namespace {

// What a command may print: read as a stream and never held as text, so the limit is about time,
// not memory (an http_sd answer has the same).
constexpr size_t kOutputLimit = 256 * 1024 * 1024;
constexpr size_t kStderrLimit = 64 * 1024;

asio::awaitable<void> read_all(Pipe& pipe, std::string& into, size_t limit) {
  char buffer[16384];
  for (;;) {
    auto [ec, n] =
        co_await pipe.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (into.size() < limit) into.append(buffer, std::min(n, limit - into.size()));
    if (ec) co_return;
  }
}

// Stdout into the reader as it comes, counted; past `limit` (or once the reader has found the
// document bad) the rest is drained, so that the command never blocks on a full pipe.
asio::awaitable<void> read_document(Pipe& pipe, GroupsJsonReader& reader, size_t& printed,
                                    size_t limit) {
  char buffer[65536];
  for (;;) {
    auto [ec, n] =
        co_await pipe.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (printed < limit && n > 0)
      reader.write(std::string_view(buffer, std::min(n, limit - printed)));
    printed += n;
    if (ec) co_return;
  }
}

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv)
    out += (out.empty() ? "" : " ") + a;
  return out;
}

void log_stderr(const std::string& name, const std::string& text) {
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    if (end > begin) spdlog::warn("sd {}: stderr: {}", name, text.substr(begin, end - begin));
    begin = end + 1;
  }
}

// A child started in its own process group with stdout and stderr on pipes and stdin on
// /dev/null; `exited` becomes readable when it exits (a pidfd).
struct Child {
  explicit Child(asio::io_context& io) : out(io), err(io), exited(io), deadline(io) {}
  ~Child() {
    if (pid > 0 && !reaped) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  Pipe out, err, exited;
  asio::steady_timer deadline;
  pid_t pid = -1;
  bool reaped = false, timed_out = false, finished = false;
};

// Starts argv; "" or why it could not.
std::string spawn(const std::vector<std::string>& argv, Child& child) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return std::strerror(errno);
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return std::strerror(errno);
  }
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  ::posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  // Its own process group, so that a timeout kills what it started too; default signal handling
  // and an empty mask whatever this process ignores or blocks.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGCHLD})
    sigaddset(&defaults, sig);
  ::posix_spawnattr_setflags(
      &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  ::posix_spawnattr_setpgroup(&attr, 0);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &defaults);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int rc = ::posix_spawnp(&child.pid, args[0], &actions, &attr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  ::close(err[1]);
  child.out.assign(out[0]);
  child.err.assign(err[0]);
  if (rc != 0) {
    child.pid = -1;
    return std::strerror(rc);
  }
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child.pid, 0));
  if (pidfd < 0) return std::string("pidfd_open: ") + std::strerror(errno);
  child.exited.assign(pidfd);
  return {};
}

asio::awaitable<RefreshProvider::Result> run_once(asio::io_context& io, ExecConfig config,
                                                  std::string name) {
  const std::string command = joined(config.command);
  // Shared with the deadline's handler, which may already be queued when the run ends.
  auto child = std::make_shared<Child>(io);
  if (auto problem = spawn(config.command, *child); !problem.empty())
    co_return "cannot run \"" + command + "\": " + problem;
  // The deadline kills the child's process group and closes our ends of its pipes.
  child->deadline.expires_after(config.timeout);
  child->deadline.async_wait([child](boost::system::error_code ec) {
    if (ec || child->finished) return;
    child->timed_out = true;
    ::kill(-child->pid, SIGKILL);
    boost::system::error_code ignored;
    child->out.close(ignored);
    child->err.close(ignored);
  });
  GroupsJsonReader reader;
  size_t printed = 0;
  std::string stderr_text;
  co_await (read_document(child->out, reader, printed, kOutputLimit) &&
            read_all(child->err, stderr_text, kStderrLimit));
  co_await child->exited.async_wait(Pipe::wait_read, asio::as_tuple(asio::use_awaitable));
  int status = 0;
  while (::waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
  }
  child->reaped = true;
  child->finished = true;
  child->deadline.cancel();
  log_stderr(name, stderr_text);
  const bool timed_out = child->timed_out;
  if (timed_out) co_return "\"" + command + "\" ran longer than its timeout and was killed";
  if (WIFSIGNALED(status))
    co_return "\"" + command + "\" was killed by signal " + std::to_string(WTERMSIG(status));
  if (WEXITSTATUS(status) != 0)
    co_return "\"" + command + "\" exited with status " + std::to_string(WEXITSTATUS(status));
  if (printed > kOutputLimit) co_return "\"" + command + "\" printed more than 256 MiB";
  auto parsed = reader.finish();
  if (auto* problem = std::get_if<std::string>(&parsed))
    co_return "\"" + command + "\" printed a bad document: " + *problem;
  Groups groups = std::move(std::get<Groups>(parsed));
  for (size_t i = 0; i < groups.size(); ++i)
    groups[i].source = Source::group_of(Source(), i);
  set_group_label(groups, "__meta_exec_command", command);
  co_return groups;
}

}  // namespace

std::unique_ptr<Provider> make_provider(const ExecConfig& config, ProviderContext context) {
  asio::io_context& io = context.io;
  const std::string name = context.name;
  const milliseconds interval = config.refresh_interval;
  return std::make_unique<RefreshProvider>(
      std::move(context), interval, [&io, config, name]() { return run_once(io, config, name); });
}

}  // namespace muster::sd
