#include "api/access.h"

#include "common/ascii_case.h"
#include "http/params.h"

namespace muster::api {

namespace {

// Equal in a time that depends on the lengths only, never on where the first difference is.
bool same_token(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

// Whether `token` is one of `list`; every entry is compared, so the time says nothing of which.
bool in(const std::vector<std::string>& list, std::string_view token) {
  bool found = false;
  for (const auto& t : list)
    found |= same_token(t, token);
  return found;
}

constexpr std::string_view kVerdicts[] = {"missing", "unknown", "forbidden"};
constexpr std::string_view kNeeds[] = {"read", "write", "admin", "peer", "peer_or_admin"};

}  // namespace

std::string_view bearer_token(const http::Request& request) {
  const std::string_view h = request.header("authorization");
  constexpr std::string_view kScheme = "bearer ";
  if (h.size() <= kScheme.size() || !equal_without_case(h.substr(0, kScheme.size()), kScheme))
    return {};
  return h.substr(kScheme.size());
}

std::string consul_token(const http::Request& request) {
  http::Params params;
  // The query is parsed again by the route: here only when it may hold a token at all.
  if (request.query.find("token=") != std::string_view::npos &&
      !http::parse_urlencoded(request.query, params)) {
    if (auto t = params.first("token"); t && !t->empty()) return std::string(*t);
  }
  if (const auto t = request.header("x-consul-token"); !t.empty()) return std::string(t);
  return std::string(bearer_token(request));
}

std::string_view verdict_message(Verdict v) {
  switch (v) {
    case Verdict::kMissing:
      return "a token is required (Authorization: Bearer <token>)";
    case Verdict::kUnknown:
      return "the token is not known";
    case Verdict::kForbidden:
      return "the token does not allow this";
    case Verdict::kAllowed:
      break;
  }
  return "";
}

void Access::set(Tokens tokens) {
  auto fresh = std::make_shared<const Tokens>(std::move(tokens));
  std::lock_guard lock(mu_);
  tokens_ = std::move(fresh);
}

std::shared_ptr<const Tokens> Access::tokens() const {
  std::lock_guard lock(mu_);
  return tokens_;
}

bool Access::open() const {
  return tokens()->empty();
}

Verdict Access::check(std::string_view token, Need need, std::string_view appid,
                      bool certified_peer) const {
  // Membership is a privilege (issue 27.1): an infra.discovery entry makes its address a peer,
  // so writing one takes a peer's or an admin's rights, never a client's.
  if (need == Need::kWrite && appid == kMembershipAppid) need = Need::kPeerOrAdmin;
  const bool peer_need = need == Need::kPeer || need == Need::kPeerOrAdmin;
  if (certified_peer && (peer_need || need == Need::kRead)) return Verdict::kAllowed;
  const auto t = tokens();
  if (t->empty() && !(peer_need && peer_identity_required_)) return Verdict::kAllowed;
  if (need == Need::kRead && t->read.empty()) return Verdict::kAllowed;
  Verdict v = Verdict::kAllowed;
  if (token.empty()) {
    v = Verdict::kMissing;
  } else {
    const bool admin = in(t->admin, token);
    const bool peer = in(t->peer, token);
    bool writer = false, writer_here = false;
    for (const auto& w : t->write) {
      const bool match = same_token(w.token, token);
      writer |= match;
      if (!match) continue;
      for (const auto& prefix : w.appid_prefixes)
        writer_here |= appid.starts_with(prefix);
    }
    const bool known = admin || peer || writer || in(t->read, token);
    bool allowed = false;
    switch (need) {
      case Need::kRead:
        allowed = known;
        break;
      case Need::kWrite:
        allowed = admin || writer_here;
        break;
      case Need::kAdmin:
        allowed = admin;
        break;
      case Need::kPeer:
        allowed = peer;
        break;
      case Need::kPeerOrAdmin:
        allowed = peer || admin;
        break;
    }
    v = allowed ? Verdict::kAllowed : known ? Verdict::kForbidden : Verdict::kUnknown;
  }
  if (v != Verdict::kAllowed) ++denied_[static_cast<size_t>(v) - 1][static_cast<size_t>(need)];
  return v;
}

bool Access::peer_or_admin(std::string_view token) const {
  if (token.empty()) return false;
  const auto t = tokens();
  return in(t->admin, token) || in(t->peer, token);
}

void Access::write_metrics(metrics::TextWriter& out) const {
  out.family("muster_access_denied_total");
  for (size_t v = 0; v < 3; ++v)
    for (size_t n = 0; n < 5; ++n)
      out.sample("muster_access_denied_total", {{"reason", kVerdicts[v]}, {"need", kNeeds[n]}},
                 static_cast<double>(denied_[v][n].load()));
}

}  // namespace muster::api
