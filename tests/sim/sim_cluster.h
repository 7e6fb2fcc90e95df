#pragma once
// A deterministic simulation of a muster cluster (issue 26; the method FoundationDB and
// TigerBeetle use): three nodes in two zones inside one process, on a simulated clock and a
// simulated network, with no sockets, threads or sleeps. Each node is the production code: its
// Registry (eviction, and with `guard` the self-protection guard), the one write path
// (cluster::Writes), the Replicator with its PeerLinks (fan-out, coalescing, -404 and -409
// handling), AntiEntropy, syncup's apply_snapshot, its DataDir, and the native and Consul APIs'
// routes, which every client request and every replicated form goes through. The simulation
// stands in only for the transport (PeerLink::take/answered/failed_batch, AntiEntropy::Fetch) and
// the clocks.
//
// A seed decides everything: which client does what when (register, renew, stop renewing,
// cancel, set; a Consul registration through the Consul API, its TTL check turning critical and
// passing again, its deregistration) and which faults strike (partitions and heals, dropped,
// duplicated, reordered and delayed messages, a node killed and restarted with its data
// directory as kill -9 left it or with an empty one, wall clock steps, clocks started apart). The
// invariants are checked at every step and at every quiet point (docs/decisions.md §5.7, §6.6),
// Consul's index among them (App::index); a failure carries the schedule that led to it. Threading:
// one thread; nothing here is shared.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace muster::sim {

struct SimOptions {
  uint64_t seed = 1;
  std::chrono::nanoseconds duration = std::chrono::seconds(120);  // simulated time
  int clients = 12;  // instances alive at once, at most (new ones replace those that go)
  // Strip what carries leases (renew_age, X-Muster-Clock) on the simulated wire: copies then
  // arrive renewed, as they did before issue 26. For showing that the simulation finds the
  // resurrection bug.
  bool fresh_leases = false;
  // Wall clock steps of up to this much per node (the monotonic clock, which leases use, never
  // steps).
  std::chrono::nanoseconds max_skew = std::chrono::seconds(2);
  // Each node's wall clock starts this much apart at most from the others' (a random offset per
  // node; the allowed bound between nodes is an hour, Options::max_clock_ahead).
  std::chrono::nanoseconds start_skew{0};
  // The nodes run the self-protection guard (docs/decisions.md §5.2), with eviction runs every
  // 4 s (twice the renew period, the guard's arithmetic): a node that protects, or whose run is
  // capped at 15 % of its instances, may keep what stopped renewing until a run that is
  // neither, and no other node takes it back.
  bool guard = false;
  bool verbose = false;  // print the schedule as it runs
};

struct SimResult {
  bool ok = true;
  std::string failure;                // the first invariant broken, with its evidence
  std::vector<std::string> schedule;  // what happened, in order, with its simulated time
  size_t client_ops = 0, faults = 0, quiet_checks = 0, messages = 0;
  size_t index_checks = 0;     // settled quiet points where the nodes agreed on a new Consul index
  size_t critical_checks = 0;  // quiet points where a critical check showed down on every node
  size_t protecting_runs = 0;  // eviction runs that protected or were capped (with `guard`)
};

SimResult run_simulation(const SimOptions& options);

}  // namespace muster::sim
