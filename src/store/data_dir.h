#pragma once
// A node's registry on disk (--data-dir; docs/architecture.md, "The data directory"): a journal
// that receives every change of an instance's stored state as it happens (register, set, cancel,
// eviction; never a renew), and snapshots of the whole registry into which the journal is
// compacted. A node restarted after a crash or kill -9 reads the newest snapshot and the journals
// after it, and serves what they hold at once, every lease starting afresh.
//
// Files: snapshot-<seq> (complete: its last record is an end record) and journal-<seq>, where a
// journal holds what changed since the snapshot of its own sequence began; LOCK keeps a second
// node out. A compaction starts journal-<n+1>, writes snapshot-<n+1>.tmp, renames it, and only
// then deletes the files before n+1.
//
// Threading: stored() and removed() run on any thread, under the registry's lock (they take the
// store's own lock inside it); the fsync and compaction thread is the store's own; open(),
// start() and close() on the owner's thread.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "common/metrics.h"
#include "registry/registry.h"

namespace muster::store {

struct DataDirOptions {
  std::string dir;
  // How often the journal is flushed to the disk (fdatasync). Every change reaches the kernel
  // before its request is answered, so a crash of the process loses nothing; a crash of the
  // machine loses what changed in the last interval. 0: fdatasync after every change.
  std::chrono::nanoseconds fsync_interval = std::chrono::seconds(1);
  // The journal is compacted into a snapshot once it holds this much and more than the last
  // snapshot did: the directory holds about twice the registry's size at most.
  size_t compact_min_bytes = 16 * 1024 * 1024;
};

// What a start found in the directory.
struct RestoreReport {
  size_t instances = 0;      // restored into the registry
  size_t records = 0;        // intact records read
  size_t damaged = 0;        // damaged stretches skipped
  size_t skipped_bytes = 0;  // their bytes
  size_t unreadable = 0;     // intact records whose JSON is not an instance
  std::string problems;      // each damaged or unreadable file, in words; "" when none
  std::chrono::milliseconds took{0};
};

class DataDir final : public registry::ChangeObserver {
 public:
  // Opens `options.dir` (made if missing), reads what it holds into `registry` and starts a new
  // journal; the registry then tells the store of every change. An error (nothing read) when the
  // directory cannot be made, locked or written.
  static std::variant<std::unique_ptr<DataDir>, std::string> open(DataDirOptions options,
                                                                  registry::Registry& registry,
                                                                  RestoreReport& report);
  ~DataDir();
  DataDir(const DataDir&) = delete;
  DataDir& operator=(const DataDir&) = delete;

  // Starts the fsync and compaction thread (which first compacts what open() read).
  void start();
  // Stops telling, writes a final snapshot, and stops the thread. Idempotent.
  void close();

  // Under the registry's lock: the change is framed into the pending records, not written.
  void stored(const registry::Instance& instance) override;
  void removed(const registry::Instance& instance) override;
  // Writes the pending records of every thread to the journal (one write(2) for all: a group
  // commit), outside the registry's lock. The write path calls it before answering; the store's
  // thread every 100 ms for what changed without a request (eviction, syncup, anti-entropy).
  void flush();

  // After a restart in a cluster: the keys of the instances a peer holds, from its fetch/all
  // answer (the syncup's). Any thread.
  static void add_instance_keys(std::string_view fetch_all_body,
                                std::unordered_set<std::string>& keys);
  // What happened while the node was down is its peers' to say: a restored instance that no
  // peer holds (cancelled or evicted meanwhile) and that nothing changed since the restart is
  // removed, rather than pushed back to the peers by anti-entropy. It is forgotten, not
  // cancelled (no mark): a peer that did not answer may hold it still, and keeps it. Call once,
  // with the keys of every peer that answered the syncup; returns how many were removed. Any
  // thread.
  size_t drop_unconfirmed(const std::unordered_set<std::string>& peer_keys);
  // A node without peers: forgets what open() restored (drop_unconfirmed() will not be called).
  void drop_unconfirmed_never() {
    std::lock_guard lock(restored_mu_);
    restored_ = {};
  }

  void write_metrics(metrics::TextWriter& out) const;
  // False while the disk refuses writes: the node serves from memory, and the store says so and
  // tries a snapshot every few seconds until one succeeds.
  bool healthy() const { return !failed_.load(); }

 private:
  struct File;
  DataDir(DataDirOptions options, registry::Registry& registry);
  void write_pending();  // under mu_
  // Says once that the disk refused (`what`), and stops the journal until a snapshot. Under mu_.
  void fail(const std::string& what);
  // Whether the journal is still the file the node writes (not removed, not cut); fail()s if
  // not. Under mu_.
  void check_journal();
  // Starts journal-<seq>; the current one is returned for a last fdatasync. Under mu_.
  std::shared_ptr<File> rotate(std::string& error);
  bool compact();
  bool write_snapshot(uint64_t seq, size_t& bytes);
  void remove_before(uint64_t seq);
  // Reads snapshot `seq` back; whole, it becomes the kept one and what came before the previous
  // kept one goes. Not whole: removed, and the store says it failed.
  bool keep_verified(uint64_t seq);
  // The newest snapshot known whole (read at open, or read back after compaction); the one
  // before it is kept until a newer one is. 0: none. The compaction thread's, after open().
  uint64_t kept_snapshot_ = 0;
  void run();

  const DataDirOptions options_;
  registry::Registry& registry_;
  // What open() restored: each instance's key and dirty_timestamp, until drop_unconfirmed().
  std::unordered_map<std::string, int64_t> restored_;
  std::mutex restored_mu_;
  int lock_fd_ = -1;
  mutable std::mutex mu_;  // the journal: file, sequence, buffer, counts
  std::shared_ptr<File> journal_;
  uint64_t seq_ = 0;
  std::string pending_;  // framed records not written yet
  std::string payload_;
  bool dirty_ = false;  // written since the last fdatasync
  size_t journal_bytes_ = 0;
  std::atomic<bool> failed_{false};
  bool closed_ = false;
  bool opened_ = false;  // open() finished: only then does close() write
  std::atomic<size_t> snapshot_bytes_{0};
  std::atomic<uint64_t> write_errors_{0};
  std::atomic<uint64_t> compactions_{0};
  std::atomic<uint64_t> records_{0};
  std::condition_variable wake_;
  bool stopping_ = false;  // under mu_
  std::thread thread_;
};

}  // namespace muster::store
