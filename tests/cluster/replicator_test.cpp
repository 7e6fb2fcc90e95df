// The replicator's answers to a peer's conflict codes (docs/decisions.md §6.4), in process against
// a scripted peer: -404 to a renew sends the peer our copy as a register, -409 adopts the peer's
// newer copy without fanning it out again, and what cannot be read is not adopted.
#include "cluster/replicator.h"

#include "replication_fixture.h"

namespace muster::cluster {
namespace {

using ReplicatorTest = testing::ReplicationTest;
using muster::testing::eventually;

TEST_F(ReplicatorTest, AClientWriteGoesToThePeerWithReplicationTrue) {
  registry_.register_instance(args("web", "h1", 100));
  registry_.read_instance({"sh001", "dev", "web", "h1"},
                          [&](const registry::Instance& i) { replicator_->registered(i, false); });
  ASSERT_TRUE(eventually([&] { return peer_.writes_to("/discovery/register").size() == 1; }));
  const auto w = peer_.writes_to("/discovery/register")[0];
  EXPECT_EQ(w.field("hostname"), "h1");
  EXPECT_EQ(w.field("dirty_timestamp"), "100");
  EXPECT_EQ(w.field("replication"), "true");
}

TEST_F(ReplicatorTest, ARenewThePeerAnswersMinus404WithIsFollowedByOurCopy) {
  peer_.answer("/discovery/renew", -404);
  registry_.register_instance(args("web", "h1", 100, "v3"));
  registry_.read_instance({"sh001", "dev", "web", "h1"},
                          [&](const registry::Instance& i) { replicator_->renewed(i, false); });
  ASSERT_TRUE(eventually([&] { return peer_.writes_to("/discovery/register").size() == 1; }));
  const auto w = peer_.writes_to("/discovery/register")[0];
  EXPECT_EQ(w.field("hostname"), "h1");
  EXPECT_EQ(w.field("version"), "v3");
  EXPECT_EQ(w.field("dirty_timestamp"), "100");
  EXPECT_EQ(peer_.writes()[0].route, "/discovery/renew") << "the renew went first";
}

TEST_F(ReplicatorTest, ARenewThePeerAnswersMinus409WithAdoptsItsNewerCopy) {
  peer_.answer("/discovery/renew", -409, rendered("web", "h1", 500, "v9"));
  registry_.register_instance(args("web", "h1", 100, "v1"));
  registry_.read_instance({"sh001", "dev", "web", "h1"},
                          [&](const registry::Instance& i) { replicator_->renewed(i, false); });
  ASSERT_TRUE(eventually([&] { return local("web", "h1").first == "v9"; }));
  EXPECT_EQ(local("web", "h1").second, 500);
  // Adopted, not fanned out again: the peer only ever saw the renew.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(peer_.writes().size(), 1u);
}

TEST_F(ReplicatorTest, AMinus409WhoseInstanceCannotBeReadChangesNothing) {
  peer_.answer("/discovery/renew", -409, R"({"hostname":"h1","version":"v9"})");  // no identity
  registry_.register_instance(args("web", "h1", 100, "v1"));
  registry_.read_instance({"sh001", "dev", "web", "h1"},
                          [&](const registry::Instance& i) { replicator_->renewed(i, false); });
  ASSERT_TRUE(eventually([&] { return peer_.writes_to("/discovery/renew").size() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(local("web", "h1"), (std::pair<std::string, int64_t>{"v1", 100}));
}

}  // namespace
}  // namespace muster::cluster
