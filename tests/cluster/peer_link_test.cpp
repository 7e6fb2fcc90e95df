// One peer link against a scripted peer on loopback (fake_peer.h): pipelined batches with the
// replication flag, renews coalesced per instance, a full queue dropping and reporting it, the
// peer's answers handed to the owner, -500 and a dead peer marking it lost, reconnection.
#include "cluster/peer_link.h"

#include <gtest/gtest.h>

#include "fake_peer.h"
#include "http/params.h"
#include "link_harness.h"

namespace muster::cluster {
namespace {

using muster::testing::eventually;
using muster::testing::free_port;
using testing::FakePeer;
using testing::LinkHarness;
using testing::renew_of;
using testing::write;

TEST(PeerLinkTest, SendsQueuedWritesInOrderInPipelinedBatchesWithTheReplicationFlag) {
  FakePeer peer;
  LinkHarness h(peer.addr());
  // More than one batch (256 items) waits before the link starts.
  for (int i = 0; i < 300; ++i)
    ASSERT_TRUE(h.link().enqueue(write(WriteKind::kRegister, "hostname=h" + std::to_string(i))));
  ASSERT_TRUE(h.link().enqueue(write(WriteKind::kCancel, "hostname=other", false)));
  h.run();
  ASSERT_TRUE(eventually([&] { return peer.writes().size() == 301; }));
  const auto writes = peer.writes();
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(writes[i].route, "/discovery/register");
    ASSERT_EQ(writes[i].body, "hostname=h" + std::to_string(i) + "&replication=true");
  }
  EXPECT_EQ(writes[300].route, "/discovery/cancel");
  EXPECT_EQ(writes[300].body, "hostname=other&replication=false");
  ASSERT_TRUE(eventually([&] { return h.handler().all().size() == 301; }));
  EXPECT_EQ(h.link().counters().items_sent.load(), 301u);
  EXPECT_GE(h.link().counters().batches.load(), 2u);
  EXPECT_LE(h.link().counters().batches.load(), 10u) << "writes go pipelined, not one by one";
  EXPECT_EQ(h.link().status(), PeerStatus::kUp);
  EXPECT_EQ(h.link().queue_depth(), 0u);
}

TEST(PeerLinkTest, RenewsOfOneInstanceCoalesceWhileOneIsQueued) {
  FakePeer peer;
  LinkHarness h(peer.addr());
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(h.link().enqueue(renew_of("h1")));
  ASSERT_TRUE(h.link().enqueue(renew_of("h2")));
  EXPECT_EQ(h.link().counters().coalesced.load(), 9u);
  EXPECT_EQ(h.link().queue_depth(), 2u);
  h.run();
  ASSERT_TRUE(eventually([&] { return peer.writes_to("/discovery/renew").size() == 2; }));
  // Once sent, the next renew of h1 is news again.
  ASSERT_TRUE(h.link().enqueue(renew_of("h1")));
  ASSERT_TRUE(eventually([&] { return peer.writes_to("/discovery/renew").size() == 3; }));
  EXPECT_EQ(peer.writes_to("/discovery/renew")[2].field("hostname"), "h1");
}

TEST(PeerLinkTest, ALeaseIsSentWithItsAgeAtSendingSoTheQueueTimeCounts) {
  // No socket: the simulation's seam (take, form_of) on a fake clock.
  boost::asio::io_context io;
  testing::RecordingHandler handler;
  FakeClock clock;
  PeerLink link(io, "127.0.0.1:1", 100, std::chrono::seconds(2), handler, clock);
  PeerItem renew = renew_of("h1");
  renew.renewed_mono = clock.mono_ns() - 1'000'000'000;  // renewed 1 s ago
  ASSERT_TRUE(link.enqueue(renew));
  clock.advance(std::chrono::seconds(4));
  PeerItem later = renew_of("h1");
  later.renewed_mono = clock.mono_ns() - 500'000'000;  // renewed again, coalesced
  ASSERT_TRUE(link.enqueue(later));
  PeerItem consul = write(WriteKind::kRegister, "hostname=c");  // no lease
  ASSERT_TRUE(link.enqueue(consul));
  clock.advance(std::chrono::seconds(5));  // the peer answers at last
  const auto batch = link.take();
  ASSERT_EQ(batch.size(), 2u);
  http::Params p;
  const std::string form = link.form_of(batch[0]);
  ASSERT_FALSE(http::parse_urlencoded(form, p));
  EXPECT_EQ(p.first("renew_age").value_or(""), "5500000000") << form;
  EXPECT_EQ(p.first("replication").value_or(""), "true");
  EXPECT_EQ(link.form_of(batch[1]), "hostname=c&replication=true");
}

// Issue 27.3: 300 peers that never answer and 30,000 writes once queued 9 million items (5.9 GiB).
// Now all links' queues share one byte budget: past it, writes are dropped and counted, and
// what leaves a queue (sent, or the link gone) is given back.
TEST(PeerLinkTest, AllQueuesTogetherStayWithinTheirByteBudget) {
  boost::asio::io_context io;
  testing::RecordingHandler handler;
  FakeClock clock;
  QueueBudget budget(4096);
  auto a = std::make_unique<PeerLink>(io, "127.0.0.1:1", 100'000, std::chrono::seconds(2), handler,
                                      clock, PeerCredentials{}, &budget);
  PeerLink b(io, "127.0.0.1:2", 100'000, std::chrono::seconds(2), handler, clock, PeerCredentials{},
             &budget);
  const std::string body(200, 'x');  // a register form's size
  size_t queued = 0;
  for (int i = 0; i < 100; ++i) {
    queued += a->enqueue(write(WriteKind::kRegister, body));
    queued += b.enqueue(write(WriteKind::kRegister, body));
  }
  EXPECT_GT(queued, 0u);
  EXPECT_LT(queued, 20u) << "about 4096 bytes of 330-byte items";
  EXPECT_LE(budget.used(), budget.limit());
  EXPECT_EQ(a->counters().dropped.load() + b.counters().dropped.load(), 200 - queued);
  EXPECT_EQ(budget.refused(), 200 - queued);
  const size_t before = budget.used();
  const auto sent = b.take();
  EXPECT_FALSE(sent.empty());
  EXPECT_LT(budget.used(), before) << "what b sent is given back";
  EXPECT_TRUE(b.enqueue(write(WriteKind::kRegister, body))) << "and there is room again";
  a.reset();  // a peer that leaves gives back what its queue held
  for (int i = 0; i < 100 && b.queue_depth() > 0; ++i)
    b.take();
  EXPECT_EQ(budget.used(), 0u) << "every byte taken is given back";
}

TEST(PeerLinkTest, AFullQueueDropsCountsAndAsksForAResyncOnceDrained) {
  FakePeer peer;
  LinkHarness h(peer.addr(), 3);
  int accepted = 0;
  for (int i = 0; i < 5; ++i)
    accepted += h.link().enqueue(write(WriteKind::kRegister, "hostname=h" + std::to_string(i)));
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(h.link().counters().dropped.load(), 2u);
  EXPECT_EQ(h.handler().back_count(), 0);
  h.run();
  ASSERT_TRUE(eventually([&] { return peer.writes().size() == 3; }));
  // The owner hears that the peer missed writes, so that anti-entropy brings them.
  ASSERT_TRUE(eventually([&] { return h.handler().back_count() >= 1; }));
}

TEST(PeerLinkTest, ThePeersAnswersReachTheOwnerWithTheirData) {
  FakePeer peer;
  peer.answer("/discovery/renew", -409, R"({"hostname":"h1","dirty_timestamp":7})");
  peer.answer("/discovery/cancel", -404);
  LinkHarness h(peer.addr());
  ASSERT_TRUE(h.link().enqueue(renew_of("h1")));
  ASSERT_TRUE(h.link().enqueue(write(WriteKind::kCancel, "hostname=h2")));
  h.run();
  ASSERT_TRUE(eventually([&] { return h.handler().all().size() == 2; }));
  const auto replies = h.handler().all();
  EXPECT_EQ(replies[0].kind, WriteKind::kRenew);
  EXPECT_EQ(replies[0].code, -409);
  EXPECT_EQ(replies[0].data, R"({"hostname":"h1","dirty_timestamp":7})");
  EXPECT_EQ(replies[1].kind, WriteKind::kCancel);
  EXPECT_EQ(replies[1].code, -404);
  EXPECT_EQ(h.link().status(), PeerStatus::kUp) << "any envelope but -500 means the peer is up";
}

TEST(PeerLinkTest, AMinus500IsAFailureAndThePeerIsUpAgainWhenItAnswersAProbe) {
  FakePeer peer;
  peer.answer("/discovery/register", -500);
  LinkHarness h(peer.addr());
  ASSERT_TRUE(h.link().enqueue(write(WriteKind::kRegister, "hostname=h1")));
  h.run();
  ASSERT_TRUE(eventually([&] { return h.link().counters().failures.load() == 1; }));
  // The idle link probes (GET /discovery/nodes answers 0): up again, and the lost write is
  // reported to the owner.
  ASSERT_TRUE(eventually(
      [&] { return h.link().status() == PeerStatus::kUp && h.handler().back_count() >= 1; }));
  EXPECT_FALSE(peer.reads().empty());
}

TEST(PeerLinkTest, ReconnectsAndDeliversWhenThePeerComesBack) {
  const uint16_t port = free_port();
  LinkHarness h("127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(h.link().enqueue(write(WriteKind::kRegister, "hostname=h1")));
  h.run();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(h.link().status(), PeerStatus::kLost);
  EXPECT_EQ(h.link().queue_depth(), 1u) << "a refused connection loses nothing queued";
  {
    FakePeer peer(port);
    ASSERT_TRUE(eventually([&] { return peer.writes().size() == 1; }));
    // The peer holds the write before the link has read its answer.
    EXPECT_TRUE(eventually([&] { return h.link().status() == PeerStatus::kUp; }));
  }
  // The peer is gone again: the link sees it lost, and delivers to the next one on that port.
  ASSERT_TRUE(eventually([&] { return h.link().status() == PeerStatus::kLost; }));
  ASSERT_TRUE(h.link().enqueue(write(WriteKind::kRegister, "hostname=h2")));
  FakePeer again(port);
  ASSERT_TRUE(eventually([&] { return again.writes().size() == 1; }));
  EXPECT_EQ(again.writes()[0].field("hostname"), "h2");
}

}  // namespace
}  // namespace muster::cluster
