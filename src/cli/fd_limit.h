#pragma once
// How many connections a server process can hold: its file-descriptor limit raised to the hard
// one, and a connection limit below it, so that one connection too many is answered 503 rather
// than failing accept() (issue 15.5). Used by `muster serve` and `muster sd`.
// Threading: call from the main thread at start.
#include <cstddef>
#include <cstdint>

namespace muster::cli {

// Raises the soft file-descriptor limit to the hard one; returns the limit now in force (0: none).
uint64_t raise_fd_limit();

// At most `wanted`, with room left below `fd_limit` for peers, files and the listener (a tenth,
// at least 64). `fd_limit` 0: `wanted`.
size_t connection_limit(size_t wanted, uint64_t fd_limit);

// How many check probes may be out at once: half the room connection_limit() leaves, at most 512
// (at least 8), so that probes to targets that never answer cannot take the descriptors that
// accept() needs (issue 27). `fd_limit` 0: 512.
size_t probe_budget(uint64_t fd_limit);

}  // namespace muster::cli
