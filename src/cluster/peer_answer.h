#pragma once
// What a node takes from a peer's HTTP answer (syncup, anti-entropy, the membership check): at
// most kPeerAnswerLimit bytes of body, and the sender's clock from its headers. Apart from the
// coroutine that reads it (http_get.h) so that the fuzz target, built by clang 14 without
// coroutines, reads answers with the same rules.
// Threading: pure functions.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace muster::cluster {

// The most a peer's answer may hold (a fetch/all of a million instances is about 400 MB): a
// larger one, or one that says it will be, is refused before anything is allocated for it.
constexpr uint64_t kPeerAnswerLimit = 1ull << 30;

// The sender's clock from an answer's X-Muster-Clock or Date header values (either may be empty);
// nullopt when neither is readable.
std::optional<int64_t> sender_clock_of(std::string_view muster_clock, std::string_view date);

// A whole answer read from bytes, as http_get() reads it from a socket (Beast's parser with the
// body limit): for the fuzz target and tests.
struct PeerAnswer {
  unsigned status = 0;
  std::string body;
  std::optional<int64_t> sender_clock;
};
// nullopt when `bytes` is not one complete answer within `body_limit`.
std::optional<PeerAnswer> read_peer_answer(std::string_view bytes,
                                           uint64_t body_limit = kPeerAnswerLimit);

}  // namespace muster::cluster
