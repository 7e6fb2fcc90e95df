// Who may do what (api/access.h): each kind of token and its rights, appid prefixes, the open
// default, the rollover of two tokens, the counts of refusals, and where tokens are read from.
#include "api/access.h"

#include <gtest/gtest.h>

namespace muster::api {
namespace {

Tokens sample() {
  Tokens t;
  t.admin = {"adm-old", "adm-new"};
  t.write = {{"w-pay", {"pay.", "billing"}}, {"w-all", {""}}};
  t.peer = {"peer-1"};
  return t;
}

TEST(AccessTest, NoTokensMeansEverythingIsOpen) {
  Access access;
  EXPECT_TRUE(access.open());
  for (Need n : {Need::kRead, Need::kWrite, Need::kAdmin, Need::kPeer, Need::kPeerOrAdmin})
    EXPECT_EQ(access.check("", n, "x"), Verdict::kAllowed);
}

TEST(AccessTest, APeerCertificateStandsForThePeerToken) {
  Access open;
  open.require_peer_identity(true);  // --tls-peer-ca without a tokens file
  EXPECT_EQ(open.check("", Need::kWrite, "x"), Verdict::kAllowed) << "clients stay open";
  EXPECT_EQ(open.check("", Need::kAdmin), Verdict::kAllowed);
  EXPECT_EQ(open.check("", Need::kPeer), Verdict::kMissing) << "replication is not";
  EXPECT_EQ(open.check("", Need::kPeerOrAdmin), Verdict::kMissing);
  EXPECT_EQ(open.check("", Need::kPeer, {}, true), Verdict::kAllowed);
  EXPECT_EQ(open.check("", Need::kPeerOrAdmin, {}, true), Verdict::kAllowed);
  Access tokens(sample());
  EXPECT_EQ(tokens.check("", Need::kPeer, {}, true), Verdict::kAllowed);
  EXPECT_EQ(tokens.check("", Need::kWrite, "pay.api", true), Verdict::kMissing)
      << "a peer's certificate is not a client's write token";
  EXPECT_EQ(tokens.check("peer-1", Need::kPeer), Verdict::kAllowed) << "the token still works";
}

TEST(AccessTest, EachTokenHasItsRights) {
  Access access(sample());
  EXPECT_FALSE(access.open());
  EXPECT_EQ(access.check("", Need::kWrite, "pay.api"), Verdict::kMissing);
  EXPECT_EQ(access.check("w-pa", Need::kWrite, "pay.api"), Verdict::kUnknown) << "a prefix of one";
  EXPECT_EQ(access.check("w-pay", Need::kWrite, "pay.api"), Verdict::kAllowed);
  EXPECT_EQ(access.check("w-pay", Need::kWrite, "billing-v2"), Verdict::kAllowed);
  EXPECT_EQ(access.check("w-pay", Need::kWrite, "web"), Verdict::kForbidden);
  EXPECT_EQ(access.check("w-all", Need::kWrite, "web"), Verdict::kAllowed);
  EXPECT_EQ(access.check("w-all", Need::kAdmin), Verdict::kForbidden);
  EXPECT_EQ(access.check("adm-old", Need::kAdmin), Verdict::kAllowed);
  EXPECT_EQ(access.check("adm-new", Need::kWrite, "web"), Verdict::kAllowed) << "admin writes";
  EXPECT_EQ(access.check("adm-new", Need::kPeer), Verdict::kForbidden) << "only peers replicate";
  EXPECT_EQ(access.check("adm-new", Need::kPeerOrAdmin), Verdict::kAllowed);
  EXPECT_EQ(access.check("peer-1", Need::kPeer), Verdict::kAllowed);
  EXPECT_EQ(access.check("peer-1", Need::kWrite, "pay.api"), Verdict::kForbidden);
  // No read tokens: reads stay open; with one, every known token reads.
  EXPECT_EQ(access.check("", Need::kRead), Verdict::kAllowed);
  Tokens with_read = sample();
  with_read.read = {"rd"};
  access.set(with_read);
  EXPECT_EQ(access.check("", Need::kRead), Verdict::kMissing);
  EXPECT_EQ(access.check("zz", Need::kRead), Verdict::kUnknown);
  for (const char* t : {"rd", "w-pay", "adm-old", "peer-1"})
    EXPECT_EQ(access.check(t, Need::kRead), Verdict::kAllowed) << t;
  EXPECT_EQ(access.check("rd", Need::kWrite, "pay.x"), Verdict::kForbidden);
  access.set({});
  EXPECT_EQ(access.check("", Need::kAdmin), Verdict::kAllowed) << "a reload to none opens";
}

TEST(AccessTest, RefusalsAreCountedByReasonAndNeed) {
  Access access(sample());
  access.check("", Need::kWrite, "a");
  access.check("bad", Need::kAdmin);
  access.check("w-pay", Need::kPeer);
  access.check("w-pay", Need::kPeer);
  access.check("adm-old", Need::kAdmin);  // allowed: not counted
  metrics::TextWriter w;
  access.write_metrics(w);
  const std::string text = w.take();
  EXPECT_NE(text.find("muster_access_denied_total{reason=\"missing\",need=\"write\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("muster_access_denied_total{reason=\"unknown\",need=\"admin\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("muster_access_denied_total{reason=\"forbidden\",need=\"peer\"} 2"),
            std::string::npos);
  EXPECT_EQ(text.find("adm-old"), std::string::npos) << "no token in /metrics";
}

struct FakeHeaders {
  std::string authorization, consul;
  static std::string_view get(const void* self, std::string_view name) {
    const auto* h = static_cast<const FakeHeaders*>(self);
    if (name == "authorization") return h->authorization;
    if (name == "x-consul-token") return h->consul;
    return {};
  }
};

TEST(AccessTest, TokensAreReadWhereClientsSendThem) {
  FakeHeaders h{"Bearer abc", ""};
  http::Request r;
  r.native = &h;
  r.header_fn = &FakeHeaders::get;
  EXPECT_EQ(bearer_token(r), "abc");
  h.authorization = "bearer xyz";
  EXPECT_EQ(bearer_token(r), "xyz") << "the scheme in any case";
  h.authorization = "Basic abc";
  EXPECT_EQ(bearer_token(r), "");
  EXPECT_EQ(consul_token(r), "");
  h.consul = "from-header";
  EXPECT_EQ(consul_token(r), "from-header");
  r.query = "token=from-query&x=1";
  EXPECT_EQ(consul_token(r), "from-query") << "python-consul's ?token= first";
}

}  // namespace
}  // namespace muster::api
