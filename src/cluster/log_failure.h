#pragma once
// The completion of the cluster's background coroutines: an exception that escapes one (a bug,
// or memory running out) is logged with what was running, instead of ending the replicator's
// thread. Threading: runs on the io_context the coroutine ran on.
#include <spdlog/spdlog.h>

#include <exception>
#include <string>

namespace muster::cluster {

inline auto log_failure(std::string what) {
  return [what = std::move(what)](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("{} stopped: {}", what, ex.what());
    } catch (...) {
      spdlog::error("{} stopped", what);
    }
  };
}

}  // namespace muster::cluster
