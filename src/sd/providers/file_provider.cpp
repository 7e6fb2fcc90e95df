#include "sd/providers/file_provider.h"

#include <glob.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "sd/groups_json_reader.h"

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
  if (is_json(path)) {
    // In pieces: what is kept is the groups, never the whole text.
    GroupsJsonReader reader;
    std::string piece(64 * 1024, '\0');
    while (in.read(piece.data(), static_cast<std::streamsize>(piece.size())) || in.gcount() > 0) {
      if (!reader.write(std::string_view(piece.data(), static_cast<size_t>(in.gcount())))) break;
    }
    if (in.bad()) return std::string("cannot read: ") + std::strerror(errno);
    return reader.finish();
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::string("cannot read: ") + std::strerror(errno);
  return parse_groups_yaml(text.str());
}

// One inotify instance per io_context, shared by every file provider on it: the kernel allows
// 128 instances per user by default (fs.inotify.max_user_instances), and a fleet's configuration
// has hundreds of file_sd jobs. Subscribers are told of any event in a directory they watch but a
// pure attribute change (fsnotify's Chmod), and of a queue overflow.
class InotifyHub : public std::enable_shared_from_this<InotifyHub> {
 public:
  using Callback = std::function<void()>;

  // The hub of `io`, created on first use. Null if inotify is unavailable (why in errno).
  static std::shared_ptr<InotifyHub> of(asio::io_context& io) {
    static std::mutex mu;
    static std::map<asio::io_context*, std::weak_ptr<InotifyHub>> hubs;
    std::lock_guard lock(mu);
    if (auto hub = hubs[&io].lock()) return hub;
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return nullptr;
    auto hub = std::make_shared<InotifyHub>(io, fd);
    hubs[&io] = hub;
    hub->read_events();
    return hub;
  }

  InotifyHub(asio::io_context& io, int fd) : events_(io, fd) {}

  // Watches `dir` for subscriber `id` (again is harmless). False, with errno, if it cannot.
  bool watch(const std::string& dir, uint64_t id, Callback callback) {
    constexpr uint32_t mask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM |
                              IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF;
    const int wd = ::inotify_add_watch(events_.native_handle(), dir.c_str(), mask);
    if (wd < 0) return false;
    by_wd_[wd][id] = std::move(callback);
    return true;
  }

  void forget(uint64_t id) {
    for (auto it = by_wd_.begin(); it != by_wd_.end();) {
      it->second.erase(id);
      if (it->second.empty()) {
        ::inotify_rm_watch(events_.native_handle(), it->first);
        it = by_wd_.erase(it);
      } else {
        ++it;
      }
    }
  }

 private:
  void read_events() {
    events_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [self = shared_from_this()](boost::system::error_code ec) {
                         if (ec) return;
                         self->drain();
                         // Lives as long as its io_context (one descriptor, watches removed).
                         self->read_events();
                       });
  }

  void drain() {
    alignas(inotify_event) char buffer[16384];
    std::set<int> touched;
    bool overflow = false;
    for (;;) {
      const ssize_t n = ::read(events_.native_handle(), buffer, sizeof buffer);
      if (n <= 0) break;
      for (ssize_t at = 0; at < n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buffer + at);
        if (e->mask & IN_Q_OVERFLOW) overflow = true;
        if (e->mask & ~(IN_ATTRIB | IN_IGNORED | IN_ISDIR)) touched.insert(e->wd);
        if (e->mask & IN_IGNORED) by_wd_.erase(e->wd);  // the directory went; re-added on refresh
        at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      }
    }
    // Copies: a callback may subscribe or forget.
    std::vector<Callback> calls;
    for (const auto& [wd, subs] : by_wd_) {
      if (!overflow && !touched.contains(wd)) continue;
      for (const auto& [id, cb] : subs)
        calls.push_back(cb);
    }
    for (auto& cb : calls)
      cb();
  }

  asio::posix::stream_descriptor events_;
  std::map<int, std::map<uint64_t, Callback>> by_wd_;  // watch -> subscriber -> callback
};

class FileProvider : public Provider, public std::enable_shared_from_this<FileProvider> {
 public:
  FileProvider(FileConfig config, ProviderContext context)
      : config_(std::move(config)),
        context_(std::move(context)),
        backstop_(context_.io),
        id_(next_id_++) {}

  void start(Send send) override {
    send_ = std::move(send);
    hub_ = InotifyHub::of(context_.io);
    if (!hub_) {
      context_.stats->failures.inc();
      spdlog::error("sd {}: inotify unavailable ({}); re-reading every {} ms only", context_.name,
                    std::strerror(errno), config_.refresh_interval.count());
    }
    refresh();
    arm_backstop();
  }

  void stop() override {
    stopped_ = true;
    if (hub_) hub_->forget(id_);
    hub_.reset();
    backstop_.cancel();
  }

 private:
  void watch_directories() {
    if (!hub_) return;
    for (const auto& pattern : config_.files) {
      const std::string dir = directory_of(pattern);
      // Adding an existing watch again is harmless; a directory created since is picked up here.
      const bool ok = hub_->watch(dir, id_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->changed();
      });
      if (!ok && warned_.insert(dir).second)
        spdlog::warn("sd {}: cannot watch {}: {}", context_.name, dir, std::strerror(errno));
    }
  }

  // An event in a watched directory: one refresh for a burst (through the loop).
  void changed() {
    if (stopped_ || refresh_posted_) return;
    refresh_posted_ = true;
    asio::post(context_.io, [self = shared_from_this()] {
      self->refresh_posted_ = false;
      if (!self->stopped_) self->refresh();
    });
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
      set_group_label(groups, "__meta_filepath", path);
      const Source document(path);
      for (size_t i = 0; i < groups.size(); ++i)
        groups[i].source = Source::group_of(document, i);
      if (update.empty()) {
        update = std::move(groups);  // one large file: no second vector of its groups
      } else {
        update.insert(update.end(), std::make_move_iterator(groups.begin()),
                      std::make_move_iterator(groups.end()));
      }
    }
    for (const auto& [path, before] : last_counts_) {
      const auto it = counts.find(path);
      const Source document(path);
      for (size_t i = it == counts.end() ? 0 : it->second; i < before; ++i)
        update.push_back(TargetGroup{{}, {}, Source::group_of(document, i)});
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
  std::shared_ptr<InotifyHub> hub_;
  asio::steady_timer backstop_;
  uint64_t id_;
  static inline std::atomic<uint64_t> next_id_{1};
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

std::unique_ptr<Provider> make_provider(const FileConfig& config, ProviderContext context) {
  return std::make_unique<FileProviderHandle>(
      std::make_shared<FileProvider>(config, std::move(context)));
}

}  // namespace muster::sd
