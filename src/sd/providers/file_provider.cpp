#include "sd/providers/file_provider.h"

#include <glob.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace muster::sd {

namespace asio = boost::asio;

namespace {

// The directory fsnotify would watch for `pattern`: the text before the last '/', or ".".
std::string directory_of(const std::string& pattern) {
  const size_t slash = pattern.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : pattern.substr(0, slash);
}

std::vector<std::string> expand(const std::vector<std::string>& patterns) {
  std::set<std::string> out;
  for (const auto& pattern : patterns) {
    glob_t g{};
    if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i)
        out.insert(g.gl_pathv[i]);
    }
    ::globfree(&g);
  }
  return {out.begin(), out.end()};
}

bool is_json(const std::string& path) {
  const size_t dot = path.rfind('.');
  const std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  return ext == "json" || ext == "JSON";
}

ParsedGroups read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::string("cannot open: ") + std::strerror(errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::string("cannot read: ") + std::strerror(errno);
  return is_json(path) ? parse_groups_json(text.str()) : parse_groups_yaml(text.str());
}

class FileProvider : public Provider, public std::enable_shared_from_this<FileProvider> {
 public:
  FileProvider(FileConfig config, ProviderContext context)
      : config_(std::move(config)),
        context_(std::move(context)),
        events_(context_.io),
        backstop_(context_.io) {}

  void start(Send send) override {
    send_ = std::move(send);
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
      context_.stats->failures.inc();
      spdlog::error("sd {}: inotify unavailable ({}); re-reading every {} ms only", context_.name,
                    std::strerror(errno), config_.refresh_interval.count());
    } else {
      events_.assign(fd);
      read_events();
    }
    refresh();
    arm_backstop();
  }

  void stop() override {
    stopped_ = true;
    boost::system::error_code ignored;
    events_.close(ignored);
    backstop_.cancel();
  }

 private:
  void watch_directories() {
    if (!events_.is_open()) return;
    constexpr uint32_t mask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM |
                              IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF;
    for (const auto& pattern : config_.files) {
      const std::string dir = directory_of(pattern);
      // Adding an existing watch again is harmless; a directory created since is picked up here.
      if (::inotify_add_watch(events_.native_handle(), dir.c_str(), mask) < 0 &&
          !warned_.contains(dir)) {
        warned_.insert(dir);
        spdlog::warn("sd {}: cannot watch {}: {}", context_.name, dir, std::strerror(errno));
      }
    }
  }

  void read_events() {
    events_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [self = shared_from_this()](boost::system::error_code ec) {
                         if (ec || self->stopped_) return;
                         self->drain_events();
                         self->read_events();
                       });
  }

  // Reads every pending event; any but a pure attribute change schedules one refresh.
  void drain_events() {
    alignas(inotify_event) char buffer[16384];
    bool changed = false;
    for (;;) {
      const ssize_t n = ::read(events_.native_handle(), buffer, sizeof buffer);
      if (n <= 0) break;
      for (ssize_t at = 0; at < n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buffer + at);
        if (e->mask & IN_Q_OVERFLOW) changed = true;
        if (e->mask & ~(IN_ATTRIB | IN_IGNORED | IN_ISDIR)) changed = true;
        at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      }
    }
    if (changed && !refresh_posted_) {
      // Through the loop, so that a burst of events read in one go gives one refresh.
      refresh_posted_ = true;
      asio::post(context_.io, [self = shared_from_this()] {
        self->refresh_posted_ = false;
        if (!self->stopped_) self->refresh();
      });
    }
  }

  void arm_backstop() {
    backstop_.expires_after(config_.refresh_interval);
    backstop_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped_) return;
      self->refresh();
      self->arm_backstop();
    });
  }

  void refresh() {
    const auto began = std::chrono::steady_clock::now();
    std::map<std::string, size_t> counts;  // file -> groups it has now
    Groups update;
    for (const auto& path : expand(config_.files)) {
      auto parsed = read_file(path);
      if (auto* problem = std::get_if<std::string>(&parsed)) {
        context_.stats->failures.inc();
        spdlog::error("sd {}: {}: {} (keeping its last targets)", context_.name, path, *problem);
        if (auto it = last_counts_.find(path); it != last_counts_.end()) counts[path] = it->second;
        continue;
      }
      Groups& groups = std::get<Groups>(parsed);
      counts[path] = groups.size();
      for (size_t i = 0; i < groups.size(); ++i) {
        groups[i].source = path + ":" + std::to_string(i);
        groups[i].labels["__meta_filepath"] = path;
        update.push_back(std::move(groups[i]));
      }
    }
    for (const auto& [path, before] : last_counts_) {
      const auto it = counts.find(path);
      for (size_t i = it == counts.end() ? 0 : it->second; i < before; ++i)
        update.push_back(TargetGroup{{}, {}, path + ":" + std::to_string(i)});
    }
    last_counts_ = std::move(counts);
    watch_directories();
    context_.stats->refreshes.inc();
    context_.stats->refresh_nanos.inc(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - began)
                                  .count()));
    send_(std::move(update));
  }

  FileConfig config_;
  ProviderContext context_;
  Send send_;
  asio::posix::stream_descriptor events_;
  asio::steady_timer backstop_;
  std::map<std::string, size_t> last_counts_;
  std::set<std::string> warned_;
  bool refresh_posted_ = false;
  bool stopped_ = false;
};

// The manager owns providers by unique_ptr; the watcher's handlers need shared ownership.
class FileProviderHandle : public Provider {
 public:
  explicit FileProviderHandle(std::shared_ptr<FileProvider> p) : p_(std::move(p)) {}
  ~FileProviderHandle() override { p_->stop(); }
  void start(Send send) override { p_->start(std::move(send)); }
  void stop() override { p_->stop(); }

 private:
  std::shared_ptr<FileProvider> p_;
};

}  // namespace

std::unique_ptr<Provider> make_file_provider(const FileConfig& config, ProviderContext context) {
  return std::make_unique<FileProviderHandle>(
      std::make_shared<FileProvider>(config, std::move(context)));
}

}  // namespace muster::sd
