#pragma once
// Who may do what on a node (issue 18; docs/security.md): bearer tokens from the tokens file. An
// admin token may do everything a client may (set included); a write token may register, renew
// and cancel (and make Consul agent writes) for the appids that start with one of its prefixes;
// a read token, when any is configured, is needed to read (any token of the file may read);
// a peer token is what nodes send each other: only it may replicate (`replication`, `from_zone`)
// or read a node whole (fetch/all, digests; admin too). With no token configured everything is
// open, as before. A client certificate issued by the peer CA (--tls-peer-ca) identifies a peer
// as its token does; once that CA is configured, replicating needs one or the other even without
// a tokens file. Each kind is a list, so that a new token and the old one work side by side
// while clients move (the rollout in docs/security.md).
// Threading: Access is shared by every worker; check() and the counters from any thread, set()
// (a reload) from any thread, atomically for the checks that follow.
#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"
#include "http/message.h"

namespace muster::api {

struct WriteToken {
  std::string token;
  std::vector<std::string> appid_prefixes;  // "" covers every appid
};

struct Tokens {
  std::vector<std::string> admin, read, peer;
  std::vector<WriteToken> write;
  bool empty() const { return admin.empty() && read.empty() && peer.empty() && write.empty(); }
};

// The appid whose instances are a node's peers (cluster::kSelfAppid, docs/decisions.md §6.7):
// a write to it needs kPeerOrAdmin, whatever route or API it comes through.
inline constexpr std::string_view kMembershipAppid = "infra.discovery";

// What a request needs.
enum class Need { kRead, kWrite, kAdmin, kPeer, kPeerOrAdmin };
enum class Verdict { kAllowed, kMissing, kUnknown, kForbidden };

// The bearer token of `Authorization: Bearer <token>`, "" without one.
std::string_view bearer_token(const http::Request& request);
// A Consul client's token: ?token= (python-consul), X-Consul-Token (Go, npm), else the bearer.
std::string consul_token(const http::Request& request);

class Access {
 public:
  Access() = default;
  explicit Access(Tokens tokens) { set(std::move(tokens)); }
  void set(Tokens tokens);
  bool open() const;

  // Whether `token` may do what `need` says (for kWrite, on `appid`); counts what it refuses.
  // `certified_peer`: the client's TLS certificate was issued by the peer CA.
  Verdict check(std::string_view token, Need need, std::string_view appid = {},
                bool certified_peer = false) const;
  // Whether `token` is a peer's or an admin's; counts nothing (what a reader is shown).
  bool peer_or_admin(std::string_view token) const;
  // With a peer CA, only a peer (by token or certificate) may replicate, tokens or not.
  void require_peer_identity(bool required) { peer_identity_required_ = required; }

  void write_metrics(metrics::TextWriter& out) const;

 private:
  std::shared_ptr<const Tokens> tokens() const;
  mutable std::mutex mu_;
  std::shared_ptr<const Tokens> tokens_ = std::make_shared<Tokens>();
  std::atomic<bool> peer_identity_required_{false};
  // Refusals by verdict (missing, unknown, forbidden) and need.
  mutable std::array<std::array<std::atomic<uint64_t>, 5>, 3> denied_{};
};

// The words of a refusal, for the answers of every API.
std::string_view verdict_message(Verdict v);

}  // namespace muster::api
