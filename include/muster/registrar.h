#pragma once
// Keeps one instance registered: registers it, renews it every interval (the first renew at a
// random point of the first interval, so that a fleet restarted together spreads out), registers
// it again at once when a node answers -404 (the node restarted, or evicted it), retries with
// back-off on another node when one fails, changes its status and metadata with set, and cancels
// it on cancel() or destruction.
//
// Threading: every method may be called from any thread. The work runs on the Client's thread;
// cancel() and the destructor wait for the node's answer (at most the request timeout).
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "muster/client.h"

namespace muster {

struct Registration {
  std::string appid;
  std::vector<std::string> addrs;  // "scheme://host:port"
  std::string version;
  std::map<std::string, std::string> metadata;
  int status = 1;  // 1 up, 2 down
};

class Registrar {
 public:
  // Starts registering at once. `client` must outlive the Registrar.
  Registrar(Client& client, Registration registration,
            std::chrono::milliseconds renew_interval = std::chrono::seconds(30));
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  // Changes status (1 up, 2 down) and merges metadata through /discovery/set; true when the node
  // accepted it. Also remembered for later registrations.
  bool set(int status, const std::map<std::string, std::string>& metadata = {});
  // Cancels the registration and stops renewing; true when a node confirmed it.
  bool cancel();

  // Registrations a node accepted so far (the first, then one per -404 or node change).
  uint64_t registrations() const;
  // Renews a node accepted so far.
  uint64_t renews() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace muster
