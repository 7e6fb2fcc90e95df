#include "store/data_dir.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "cluster/snapshot.h"
#include "common/json_writer.h"
#include "store/record.h"
#include "wire/instance_json.h"
#include "wire/instance_writer.h"

namespace muster::store {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kSnapshot = "snapshot-", kJournal = "journal-", kTmp = ".tmp";
// While the disk refuses writes, a snapshot is tried this often.
constexpr auto kRetryAfterFailure = std::chrono::seconds(5);
// How often the store's thread writes what changed without a request to write it.
constexpr auto kFlushEvery = std::chrono::milliseconds(100);
// How often the store checks that its journal is still the file it writes (issue 27.8).
constexpr auto kCheckFilesEvery = std::chrono::seconds(2);
// A sequence a node reaches at one per compaction is far below this: a file named above it is
// not this node's (a stray copy, a typo) and is ignored, else the next sequence would overflow.
constexpr uint64_t kMaxSequence = uint64_t{1} << 62;
// What a damaged file is copied to before compaction replaces it (issue 27.8): kept for the
// operator, never read again.
constexpr std::string_view kDamaged = ".damaged";
// A snapshot is written in pieces of about this size.
constexpr size_t kWriteChunk = 1024 * 1024;

std::string seq_name(std::string_view prefix, uint64_t seq) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(seq));
  return std::string(prefix) + digits;
}

// The sequence of a file called <prefix><20 digits>, if it is one.
std::optional<uint64_t> seq_of(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix) || name.size() != prefix.size() + 20) return std::nullopt;
  uint64_t seq = 0;
  for (char c : name.substr(prefix.size())) {
    if (c < '0' || c > '9') return std::nullopt;
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  return seq;
}

// 0, or the errno of the write that failed.
int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

void sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string key_of(std::string_view zone, std::string_view env, std::string_view appid,
                   std::string_view hostname) {
  std::string key;
  key.reserve(zone.size() + env.size() + appid.size() + hostname.size() + 3);
  key.append(zone).push_back('\0');
  key.append(env).push_back('\0');
  key.append(appid).push_back('\0');
  key.append(hostname);
  return key;
}

// A removal's identity, read back; nullopt when the JSON is not one.
std::optional<std::string> removed_key(std::string_view payload) {
  boost::system::error_code ec;
  const auto v = boost::json::parse(payload, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  std::string_view parts[4];
  const char* names[] = {"zone", "env", "appid", "hostname"};
  for (int i = 0; i < 4; ++i) {
    const auto* p = o.if_contains(names[i]);
    if (p == nullptr || !p->is_string()) return std::nullopt;
    parts[i] = p->get_string();
  }
  return key_of(parts[0], parts[1], parts[2], parts[3]);
}

// Adds what one read found to the report of the restore.
void merge(RestoreReport& into, const RestoreReport& from) {
  into.records += from.records;
  into.damaged += from.damaged;
  into.skipped_bytes += from.skipped_bytes;
  into.unreadable += from.unreadable;
  if (!from.problems.empty()) into.problems += (into.problems.empty() ? "" : "; ") + from.problems;
}

// What the files say, instance by instance: the last word on each key wins.
class Replay {
 public:
  // `now_wall`: the registry's clock at the restore, which the files' leases are measured by.
  // `keep`: false only checks the files (a snapshot read back), holding none of their
  // instances, so that a check never costs a second copy of the registry.
  explicit Replay(int64_t now_wall, bool keep = true) : restore_clock_(now_wall), keep_(keep) {}
  // Reads one file's records; says what was wrong with it in `report`. True when the file was
  // whole: readable, nothing damaged or unreadable, and (a snapshot) ending in its end record.
  bool read(const fs::path& path, bool snapshot, RestoreReport& report) {
    const auto data = read_file(path);
    const std::string name = path.filename().string();
    if (!data) {
      note(report, name + ": cannot be read");
      return false;
    }
    bool complete = false;
    size_t unreadable = 0;
    const ReadReport r = read_records(*data, [&](const Record& rec) {
      if (rec.type == RecordType::kEnd) {
        complete = true;
        return;
      }
      if (rec.type == RecordType::kRemoved) {
        if (auto key = removed_key(rec.payload)) {
          if (keep_) state_[*key] = std::nullopt;
        } else {
          ++unreadable;
        }
        return;
      }
      boost::system::error_code ec;
      const auto v = boost::json::parse(rec.payload, ec);
      // Each copy keeps the lease it had when written (its renew_timestamp there, by this
      // node's clock), never a fresh one (docs/decisions.md §5.7); renews are not journaled,
      // so a live instance's lease may look older than it was, and its next renew mends it.
      auto args = ec ? std::nullopt : cluster::instance_args(v, restore_clock_);
      if (!args) {
        ++unreadable;
        return;
      }
      if (!keep_) return;
      std::string key = key_of(args->zone, args->env, args->appid, args->hostname);
      state_[std::move(key)] = std::move(*args);
    });
    report.records += r.records;
    report.damaged += r.damaged;
    report.skipped_bytes += r.skipped_bytes;
    report.unreadable += unreadable;
    if (r.damaged > 0)
      note(report, name + ": " + std::to_string(r.damaged) + " damaged stretch(es), " +
                       std::to_string(r.skipped_bytes) + " bytes skipped");
    if (r.truncated) note(report, name + ": ends inside a record (a write cut short)");
    if (unreadable > 0)
      note(report, name + ": " + std::to_string(unreadable) + " record(s) not an instance");
    if (snapshot && !complete) note(report, name + ": no end record (incomplete)");
    // A damaged file is copied aside before compaction replaces it: what was lost may still be
    // read from it by hand (a torn journal tail, the usual end of a crash, is not damage).
    if (keep_ && (r.damaged > 0 || unreadable > 0 || (snapshot && !complete))) {
      const fs::path aside = path.string() + std::string(kDamaged);
      std::error_code ec;
      if (!fs::exists(aside, ec) && fs::copy_file(path, aside, ec))
        note(report, "a copy of it kept as " + aside.filename().string());
    }
    return r.damaged == 0 && !r.truncated && unreadable == 0 && (complete || !snapshot);
  }

  // Registers what the files hold; notes each key's dirty_timestamp in `restored`.
  size_t apply(registry::Registry& registry, std::unordered_map<std::string, int64_t>& restored) {
    // Oldest lease first: each then lands at the tail of the registry's lease list, none in its
    // set of carried leases (which costs a tree node per instance until the next renew).
    std::vector<std::pair<const std::string*, registry::RegisterArgs*>> order;
    order.reserve(state_.size());
    for (auto& [key, args] : state_)
      if (args) order.emplace_back(&key, &*args);
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return a.second->lease_age_ns.value_or(0) > b.second->lease_age_ns.value_or(0);
    });
    for (auto& [key, args] : order) {
      args->keep_lapsed = true;  // this node's own: eviction and the guard decide, as before
      registry.register_instance(*args);
      restored[*key] = args->dirty_timestamp;
    }
    return order.size();
  }

 private:
  static void note(RestoreReport& report, const std::string& text) {
    if (!report.problems.empty()) report.problems += "; ";
    report.problems += text;
  }
  std::unordered_map<std::string, std::optional<registry::RegisterArgs>> state_;
  int64_t restore_clock_;
  bool keep_;
};

std::string cannot(const std::string& what, int error) {
  return "cannot " + what + ": " + std::strerror(error);
}

}  // namespace

struct DataDir::File {
  int fd = -1;
  ~File() {
    if (fd >= 0) ::close(fd);
  }
};

DataDir::DataDir(DataDirOptions options, registry::Registry& registry)
    : options_(std::move(options)), registry_(registry) {}

std::variant<std::unique_ptr<DataDir>, std::string> DataDir::open(DataDirOptions options,
                                                                  registry::Registry& registry,
                                                                  RestoreReport& report) {
  const auto started = Clock::now();
  const std::string& dir = options.dir;
  std::error_code fec;
  // Instances, addresses and Consul checks (their headers may hold credentials) are the
  // operator's alone: a directory made here is 0700, its files 0600.
  if (fs::create_directories(dir, fec) && !fec)
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, fec);
  if (fec) return "data dir " + dir + ": cannot be made: " + fec.message();
  if (const auto st = fs::status(dir, fec);
      !fec &&
      (st.permissions() & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none)
    spdlog::warn("data dir {}: readable by others than its owner (chmod 700 it)", dir);
  std::unique_ptr<DataDir> store(new DataDir(options, registry));
  store->lock_fd_ = ::open((fs::path(dir) / "LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (store->lock_fd_ < 0)
    return "data dir " + dir + ": cannot be written: " + std::strerror(errno);
  if (::flock(store->lock_fd_, LOCK_EX | LOCK_NB) != 0)
    return "data dir " + dir + " is in use by another muster process";

  std::map<uint64_t, fs::path> snapshots, journals;
  for (const auto& entry : fs::directory_iterator(dir, fec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(kTmp)) {  // a snapshot a crash cut short
      fs::remove(entry.path(), fec);
      continue;
    }
    auto s = seq_of(name, kSnapshot);
    const bool snapshot = s.has_value();
    if (!s) s = seq_of(name, kJournal);
    if (!s) continue;
    if (*s >= kMaxSequence || !entry.is_regular_file(fec)) {
      report.problems += (report.problems.empty() ? "" : "; ") + name +
                         ": not a file of this node's sequence, ignored";
      continue;
    }
    (snapshot ? snapshots : journals)[*s] = entry.path();
  }
  if (fec) return "data dir " + dir + ": cannot be listed: " + fec.message();
  Replay replay(registry.clock().wall_ns());
  uint64_t from = 0, last = 0;
  if (!snapshots.empty()) {
    // The newest snapshot, or, when it is damaged, the one before it with every journal after
    // that: compaction keeps both generations for this (issue 26).
    const auto newest = snapshots.rbegin();
    from = last = newest->first;
    RestoreReport newest_report;
    const bool whole = replay.read(newest->second, true, newest_report);
    const auto previous = std::next(newest);
    if (!whole && previous != snapshots.rend()) {
      Replay fallback(registry.clock().wall_ns());
      RestoreReport previous_report;
      if (fallback.read(previous->second, true, previous_report)) {
        replay = std::move(fallback);
        from = previous->first;
        merge(report, previous_report);
        report.problems = newest_report.problems + "; restored from " +
                          previous->second.filename().string() +
                          " and the journals after it instead";
        store->kept_snapshot_ = previous->first;
      } else {
        merge(report, newest_report);
      }
    } else {
      merge(report, newest_report);
      if (whole) store->kept_snapshot_ = newest->first;
    }
  }
  for (const auto& [seq, path] : journals) {
    last = std::max(last, seq);
    if (seq >= from) replay.read(path, false, report);
  }
  report.instances = replay.apply(registry, store->restored_);

  std::string error;
  {
    std::lock_guard lock(store->mu_);
    store->seq_ = last;
    store->rotate(error);
  }
  if (!error.empty()) return "data dir " + dir + ": " + error;
  registry.add_observer(store.get(), false);
  store->opened_ = true;
  report.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  return store;
}

DataDir::~DataDir() {
  close();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::shared_ptr<DataDir::File> DataDir::rotate(std::string& error) {
  write_pending();  // what changed before the new journal belongs to the old one
  const uint64_t seq = seq_ + 1;
  const std::string path = (fs::path(options_.dir) / seq_name(kJournal, seq)).string();
  auto file = std::make_shared<File>();
  file->fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (file->fd < 0) {
    error = "cannot create " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  sync_dir(options_.dir);
  seq_ = seq;
  journal_bytes_ = 0;
  dirty_ = false;
  std::swap(file, journal_);
  return file;
}

void DataDir::check_journal() {
  if (failed_ || !journal_) return;
  struct stat st {};
  if (::fstat(journal_->fd, &st) != 0) return;
  // Someone removed or cut the file the node writes: what it held would be lost at the next
  // start. Failing makes the next compaction (a new snapshot and journal) repair it.
  if (st.st_nlink == 0)
    fail(seq_name(kJournal, seq_) + " was removed under the running node");
  else if (static_cast<size_t>(st.st_size) < journal_bytes_)
    fail(seq_name(kJournal, seq_) + " was truncated under the running node (" +
         std::to_string(st.st_size) + " of " + std::to_string(journal_bytes_) + " bytes left)");
}

void DataDir::fail(const std::string& what) {
  ++write_errors_;
  if (failed_.exchange(true)) return;
  spdlog::error(
      "data dir {}: {}; serving from memory, the data directory is behind until a snapshot "
      "succeeds (tried every {} s)",
      options_.dir, what, kRetryAfterFailure.count());
}

void DataDir::write_pending() {
  if (pending_.empty() || !journal_) return;
  const int e = failed_ ? 0 : write_all(journal_->fd, pending_);
  const size_t bytes = pending_.size();
  pending_.clear();
  if (failed_) return;
  if (e != 0) {
    fail(cannot("write the journal", e));
    return;
  }
  journal_bytes_ += bytes;
  if (options_.fsync_interval.count() <= 0) {
    if (::fdatasync(journal_->fd) != 0) fail(cannot("flush the journal", errno));
  } else {
    dirty_ = true;
  }
}

void DataDir::flush() {
  std::lock_guard lock(mu_);
  write_pending();
}

void DataDir::stored(const registry::Instance& instance) {
  std::lock_guard lock(mu_);
  if (closed_ || failed_ || !journal_) return;
  payload_.clear();
  wire::append_instance(payload_, instance, 0, wire::Reader::kPeer);  // whole, checks included
  append_record(pending_, RecordType::kStored, payload_);
  ++records_;
}

void DataDir::removed(const registry::Instance& instance) {
  std::lock_guard lock(mu_);
  if (closed_ || failed_ || !journal_) return;
  const registry::Zone& zone = *instance.zone;
  payload_ = "{\"zone\":";
  json::append_string(payload_, zone.name);
  payload_ += ",\"env\":";
  json::append_string(payload_, zone.app->env);
  payload_ += ",\"appid\":";
  json::append_string(payload_, zone.app->appid);
  payload_ += ",\"hostname\":";
  json::append_string(payload_, *instance.hostname);
  payload_.push_back('}');
  append_record(pending_, RecordType::kRemoved, payload_);
  ++records_;
}

bool DataDir::write_snapshot(uint64_t seq, size_t& bytes) {
  const fs::path final_path = fs::path(options_.dir) / seq_name(kSnapshot, seq);
  const std::string tmp = final_path.string() + std::string(kTmp);
  File file;
  file.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (file.fd < 0) {
    const int e = errno;
    std::lock_guard lock(mu_);
    fail(cannot("create " + tmp, e));
    return false;
  }
  std::string out, json;
  size_t records = 0;
  int error = 0;
  bytes = 0;
  const auto flush = [&] {
    if (error == 0) error = write_all(file.fd, out);
    bytes += out.size();
    out.clear();
  };
  // App by app, each under the registry's lock for as long as it takes to render it.
  for (const auto& [appid, env] : registry_.app_names()) {
    registry_.read_app(env, appid, [&](const registry::App& app) {
      for (const auto& [zone_name, zone] : app.zones) {
        for (const auto& [host, inst] : zone.instances) {
          json.clear();
          wire::append_instance(json, inst, 0, wire::Reader::kPeer);
          append_record(out, RecordType::kStored, json);
          ++records;
        }
      }
    });
    if (out.size() >= kWriteChunk) flush();
    if (error != 0) break;
  }
  append_record(out, RecordType::kEnd, "{\"records\":" + std::to_string(records) + "}");
  flush();
  if (error == 0 && ::fdatasync(file.fd) != 0) error = errno;
  if (error == 0 && ::rename(tmp.c_str(), final_path.c_str()) != 0) error = errno;
  if (error != 0) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    std::lock_guard lock(mu_);
    fail(cannot("write " + final_path.string(), error));
    return false;
  }
  sync_dir(options_.dir);
  return true;
}

void DataDir::remove_before(uint64_t seq) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    auto s = seq_of(name, kSnapshot);
    if (!s) s = seq_of(name, kJournal);
    if (s && *s < seq) fs::remove(entry.path(), ec);
  }
  sync_dir(options_.dir);
}

bool DataDir::keep_verified(uint64_t seq) {
  // Read back before anything older goes: a snapshot is trusted once it reads whole.
  const fs::path written = fs::path(options_.dir) / seq_name(kSnapshot, seq);
  RestoreReport check;
  if (!Replay(0, /*keep=*/false).read(written, true, check)) {
    std::error_code ignored;
    fs::remove(written, ignored);
    std::lock_guard lock(mu_);
    fail("snapshot " + std::to_string(seq) + " did not read back whole (" + check.problems + ")");
    return false;
  }
  // Two generations stay: the previous snapshot and every journal after it, so that a newest
  // snapshot damaged later costs nothing (open() falls back to them).
  if (kept_snapshot_ > 0) remove_before(kept_snapshot_);
  kept_snapshot_ = seq;
  return true;
}

bool DataDir::compact() {
  const auto started = Clock::now();
  std::string error;
  std::shared_ptr<File> previous;
  uint64_t seq = 0;
  {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    previous = rotate(error);
    if (!error.empty()) {
      fail(error);
      return false;
    }
    seq = seq_;
    // The new journal is whole from here on: it takes every change again.
    failed_ = false;
  }
  // What the previous journal holds stays needed until the snapshot is on disk.
  if (previous) ::fdatasync(previous->fd);
  size_t bytes = 0;
  if (!write_snapshot(seq, bytes) || !keep_verified(seq)) return false;
  snapshot_bytes_ = bytes;
  ++compactions_;
  spdlog::info(
      "data dir {}: snapshot {} written ({} bytes) in {} ms", options_.dir, seq, bytes,
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
  return true;
}

void DataDir::start() {
  thread_ = std::thread([this] { run(); });
}

void DataDir::run() {
  compact();  // what open() read becomes one snapshot, so the next start reads one file
  auto last_try = Clock::now();
  auto next_sync = Clock::now() + options_.fsync_interval;
  auto next_check = Clock::now() + kCheckFilesEvery;
  for (;;) {
    std::shared_ptr<File> to_sync;
    bool compact_now = false;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, kFlushEvery, [this] { return stopping_; });
      if (stopping_) return;
      write_pending();  // changes no request wrote: evictions, syncup, anti-entropy
      if (Clock::now() >= next_check) {
        next_check = Clock::now() + kCheckFilesEvery;
        check_journal();
      }
      if (dirty_ && journal_ && Clock::now() >= next_sync) {
        to_sync = journal_;
        dirty_ = false;
        next_sync = Clock::now() + options_.fsync_interval;
      }
      if (failed_)
        compact_now = Clock::now() - last_try >= kRetryAfterFailure;
      else
        compact_now =
            journal_bytes_ >= options_.compact_min_bytes && journal_bytes_ > snapshot_bytes_.load();
    }
    if (to_sync && ::fdatasync(to_sync->fd) != 0) {
      const int e = errno;
      std::lock_guard lock(mu_);
      fail(cannot("flush the journal", e));
    }
    if (compact_now) {
      last_try = Clock::now();
      compact();
    }
  }
}

void DataDir::close() {
  {
    std::lock_guard lock(mu_);
    // A store that did not open (another process holds the directory) writes nothing.
    if (closed_ || !opened_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  registry_.remove_observer(this);
  flush();  // in the journal, should the final snapshot fail
  uint64_t seq = 0;
  {
    std::lock_guard lock(mu_);
    seq = ++seq_;
  }
  // The last word: one snapshot of everything, and the generation before it.
  size_t bytes = 0;
  if (write_snapshot(seq, bytes) && keep_verified(seq)) {
    snapshot_bytes_ = bytes;
    spdlog::info("data dir {}: final snapshot {} written ({} bytes)", options_.dir, seq, bytes);
  }
  std::lock_guard lock(mu_);
  closed_ = true;
  journal_.reset();
}

void DataDir::add_instance_keys(std::string_view fetch_all_body,
                                std::unordered_set<std::string>& keys) {
  const auto envelope = wire::read_envelope(fetch_all_body);
  if (!envelope || envelope->code != 0 || !envelope->data.is_object()) return;
  for (const auto& [appid, list] : envelope->data.get_object()) {
    if (!list.is_array()) continue;
    for (const auto& v : list.get_array()) {
      if (auto a = cluster::instance_args(v))
        keys.insert(key_of(a->zone, a->env, a->appid, a->hostname));
    }
  }
}

size_t DataDir::drop_unconfirmed(const std::unordered_set<std::string>& peer_keys) {
  std::unordered_map<std::string, int64_t> restored;
  {
    std::lock_guard lock(restored_mu_);
    restored.swap(restored_);
  }
  size_t dropped = 0;
  for (const auto& [key, dirty] : restored) {
    if (peer_keys.contains(key)) continue;
    // zone, env, appid, hostname, as key_of() joined them.
    std::string_view parts[4];
    std::string_view rest = key;
    for (int i = 0; i < 3; ++i) {
      const size_t nul = rest.find('\0');
      parts[i] = rest.substr(0, nul);
      rest.remove_prefix(nul + 1);
    }
    parts[3] = rest;
    // Untouched since the restart, and forgotten rather than cancelled: a peer that did not
    // answer may hold it still, and a cancel mark would take it from that peer too.
    if (registry_.forget({parts[0], parts[1], parts[2], parts[3]}, dirty)) ++dropped;
  }
  return dropped;
}

void DataDir::write_metrics(metrics::TextWriter& out) const {
  size_t journal_bytes = 0;
  {
    std::lock_guard lock(mu_);
    journal_bytes = journal_bytes_;
  }
  out.family("muster_data_dir_healthy");
  out.sample("muster_data_dir_healthy", failed_ ? 0 : 1);
  out.family("muster_data_dir_journal_bytes");
  out.sample("muster_data_dir_journal_bytes", static_cast<double>(journal_bytes));
  out.family("muster_data_dir_snapshot_bytes");
  out.sample("muster_data_dir_snapshot_bytes", static_cast<double>(snapshot_bytes_.load()));
  out.family("muster_data_dir_records_total");
  out.sample("muster_data_dir_records_total", static_cast<double>(records_.load()));
  out.family("muster_data_dir_write_errors_total");
  out.sample("muster_data_dir_write_errors_total", static_cast<double>(write_errors_.load()));
  out.family("muster_data_dir_compactions_total");
  out.sample("muster_data_dir_compactions_total", static_cast<double>(compactions_.load()));
}

}  // namespace muster::store
