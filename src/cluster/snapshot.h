#pragma once
// Reading other nodes' state: an instance as a peer renders it (fetch/all, a -409 answer) turned
// into a replicated register, a whole fetch/all answer applied (spec §6.5), and the one-shot GET
// that fetches it. Threading: apply_snapshot() locks the registry per instance; http_get() runs
// on the io_context it is given.
#include <boost/asio.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "registry/registry.h"

namespace muster::cluster {

// nullopt when `v` is not an instance with an identity and a dirty_timestamp.
std::optional<registry::RegisterArgs> instance_args(const boost::json::value& v);

// Applies every instance of a fetch/all answer with its dirty_timestamp (the newer copy wins).
// nullopt when `body` is not a code-0 fetch/all answer; else how many instances it held.
std::optional<size_t> apply_snapshot(registry::Registry& registry, std::string_view body);

// GET `target` from `addr` (host:port) with Connection: close; the body of a 200 answer, or
// nullopt on any failure or when `timeout` passes.
boost::asio::awaitable<std::optional<std::string>> http_get(boost::asio::io_context& ioc,
                                                            const std::string& addr,
                                                            std::string_view target,
                                                            std::chrono::nanoseconds timeout);

}  // namespace muster::cluster
