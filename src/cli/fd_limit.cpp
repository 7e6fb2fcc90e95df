#include "cli/fd_limit.h"

#include <sys/resource.h>

#include <algorithm>

namespace muster::cli {

uint64_t raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? 0 : static_cast<uint64_t>(limit.rlim_cur);
}

namespace {

// The descriptors kept outside client connections: peers, files, the listener, check probes.
uint64_t reserve_of(uint64_t fd_limit) {
  return std::max<uint64_t>(64, fd_limit / 10);
}

}  // namespace

size_t connection_limit(size_t wanted, uint64_t fd_limit) {
  if (fd_limit == 0) return wanted;
  const uint64_t reserve = reserve_of(fd_limit);
  const uint64_t room = fd_limit > reserve ? fd_limit - reserve : 1;
  return static_cast<size_t>(std::min<uint64_t>(wanted, room));
}

size_t probe_budget(uint64_t fd_limit) {
  if (fd_limit == 0) return 512;
  return static_cast<size_t>(std::clamp<uint64_t>(reserve_of(fd_limit) / 2, 8, 512));
}

}  // namespace muster::cli
