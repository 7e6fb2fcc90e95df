// Registry rules of docs/decisions.md §3 and §6.4, on a fake clock.
#include <limits>

#include "registry/registry_fixture.h"

namespace muster::registry::testing {
namespace {

TEST_F(RegistryTest, RegisterStoresEveryFieldAndTimestamps) {
  auto a = args("h1");
  a.addrs = {"http://1.1.1.1:80", "grpc://1.1.1.1:90"};
  a.metadata = {{"weight", "10"}, {"a", "x"}};
  const int64_t now = clock_.wall_ns();
  EXPECT_EQ(registry_.register_instance(a), RegisterOutcome::kApplied);
  const auto inst = find("h1");
  ASSERT_TRUE(inst);
  EXPECT_EQ(inst->region, "sh");
  EXPECT_EQ(inst->version, "1");
  EXPECT_EQ(std::vector<std::string>(inst->addrs.begin(), inst->addrs.end()),
            (std::vector<std::string>{"http://1.1.1.1:80", "grpc://1.1.1.1:90"}));
  EXPECT_EQ(metadata_of(*inst), (std::vector<std::string>{"a", "x", "weight", "10"}));
  EXPECT_EQ(inst->reg_timestamp, now);
  EXPECT_EQ(inst->up_timestamp, now);
  EXPECT_EQ(inst->renew_timestamp, now);
  EXPECT_EQ(inst->dirty_timestamp, now);
  EXPECT_EQ(inst->latest_timestamp, latest());
  EXPECT_GE(latest(), now);
}

TEST_F(RegistryTest, ACancelKeepsOlderCopiesFromPeersOut) {
  auto a = args("h1");
  registry_.register_instance(a);
  const int64_t dirty = find("h1")->dirty_timestamp;
  clock_.advance(1s);
  ASSERT_TRUE(registry_.cancel(key("h1")));
  const auto mark = registry_.cancelled_at(key("h1"));
  ASSERT_TRUE(mark);
  EXPECT_GT(*mark, dirty);
  auto from_peer = a;
  from_peer.dirty_timestamp = dirty;  // the copy a peer that missed the cancel still holds
  EXPECT_EQ(registry_.register_instance(from_peer), RegisterOutcome::kIgnoredOlder);
  EXPECT_FALSE(find("h1"));
  from_peer.dirty_timestamp = *mark + 1;  // registered again after the cancel, elsewhere
  EXPECT_EQ(registry_.register_instance(from_peer), RegisterOutcome::kApplied);
  EXPECT_FALSE(registry_.cancelled_at(key("h1"))) << "the mark goes with a newer copy";
  // A peer's cancel at a time before the copy here changed keeps the copy.
  EXPECT_FALSE(registry_.cancel(key("h1"), *mark));
  EXPECT_TRUE(find("h1"));
  EXPECT_TRUE(registry_.cancel(key("h1"), *mark + 1));
  EXPECT_EQ(registry_.cancelled_at(key("h1")), *mark + 1);
  // A client's register (no dirty_timestamp of its own) always wins over a mark.
  EXPECT_EQ(registry_.register_instance(a), RegisterOutcome::kApplied);
  EXPECT_FALSE(registry_.cancelled_at(key("h1")));
  // Marks expire with the app tombstones.
  registry_.cancel(key("h1"));
  clock_.advance(2h);
  registry_.tick();
  EXPECT_FALSE(registry_.cancelled_at(key("h1")));
}

TEST_F(RegistryTest, UnleasedAppsAreListedWhileTheyHoldAnInstanceWithoutLease) {
  registry_.register_instance(args("native"));
  EXPECT_TRUE(registry_.unleased_app_names().empty());
  auto consul = args("c1");
  consul.lease = false;
  registry_.register_instance(consul);
  consul.hostname = "c2";
  registry_.register_instance(consul);
  const std::vector<std::pair<std::string, std::string>> app{{"provider", "dev"}};
  EXPECT_EQ(registry_.unleased_app_names(), app);
  registry_.cancel({"sh001", "dev", "provider", "c1"});
  EXPECT_EQ(registry_.unleased_app_names(), app) << "c2 is left";
  auto leased = args("c2");  // registered again with a lease
  registry_.register_instance(leased);
  EXPECT_TRUE(registry_.unleased_app_names().empty());
  consul.hostname = "native";  // the other way round, then removed with its app
  registry_.register_instance(consul);
  EXPECT_EQ(registry_.unleased_app_names(), app);
  registry_.cancel({"sh001", "dev", "provider", "native"});
  registry_.cancel({"sh001", "dev", "provider", "c2"});
  EXPECT_TRUE(registry_.unleased_app_names().empty());
}

TEST(StringListTest, PairsReadsKeysAndValuesTwoByTwo) {
  StringList list;
  EXPECT_EQ(list.pairs().begin() != list.pairs().end(), false);
  const std::string long_value(300, 'v');  // a length of two varint bytes
  for (std::string_view s : {std::string_view("a"), std::string_view(""), std::string_view("b"),
                             std::string_view(long_value)})
    list.push_back(s);
  std::vector<std::pair<std::string_view, std::string_view>> seen;
  for (const auto [k, v] : list.pairs())
    seen.emplace_back(k, v);
  EXPECT_EQ(seen, (std::vector<std::pair<std::string_view, std::string_view>>{{"a", ""},
                                                                              {"b", long_value}}));
}

TEST_F(RegistryTest, MetadataDuplicateKeysLastWins) {
  auto a = args("h1");
  a.metadata = {{"k", "first"}, {"k", "second"}};
  registry_.register_instance(a);
  EXPECT_EQ(metadata_of(*find("h1")), (std::vector<std::string>{"k", "second"}));
}

TEST_F(RegistryTest, ReRegisterKeepsUpTimestampAndRaisesLatest) {
  registry_.register_instance(args("h1"));
  const auto first = *find("h1");
  clock_.advance(5s);
  auto again = args("h1");
  again.version = "2";
  registry_.register_instance(again);
  const auto second = *find("h1");
  EXPECT_EQ(second.version, "2");
  EXPECT_EQ(second.up_timestamp, first.up_timestamp);
  EXPECT_EQ(second.reg_timestamp, clock_.wall_ns());
  EXPECT_GT(second.latest_timestamp, first.latest_timestamp);
  EXPECT_GT(second.dirty_timestamp, first.dirty_timestamp);
}

TEST_F(RegistryTest, ClientRewriteBeatsItsCopyEvenAfterClockStepsBack) {
  registry_.register_instance(args("h1"));
  const auto first = *find("h1");
  clock_.step_wall(-10s);
  registry_.register_instance(args("h1"));
  const auto second = *find("h1");
  EXPECT_EQ(second.dirty_timestamp, first.dirty_timestamp + 1);
  EXPECT_GT(second.latest_timestamp, first.latest_timestamp);  // latest never goes back
}

TEST_F(RegistryTest, ReplicatedRegisterWithOlderDirtyIsIgnored) {
  registry_.register_instance(args("h1"));
  const auto before = *find("h1");
  const int64_t latest_before = latest();
  auto older = args("h1");
  older.version = "old";
  older.dirty_timestamp = before.dirty_timestamp - 1;
  EXPECT_EQ(registry_.register_instance(older), RegisterOutcome::kIgnoredOlder);
  EXPECT_EQ(find("h1")->version, "1");
  EXPECT_EQ(latest(), latest_before);
}

TEST_F(RegistryTest, ReplicatedRegisterKeepsGivenDirty) {
  auto a = args("h1");
  a.dirty_timestamp = 12345;
  registry_.register_instance(a);
  EXPECT_EQ(find("h1")->dirty_timestamp, 12345);
}

TEST_F(RegistryTest, RenewUpdatesRenewTimestampOnly) {
  registry_.register_instance(args("h1"));
  const auto before = *find("h1");
  const int64_t latest_before = latest();
  clock_.advance(30s);
  int64_t seen = 0;
  EXPECT_EQ(registry_.renew(key("h1"), std::nullopt,
                            [&](RenewOutcome, const Instance& i) { seen = i.renew_timestamp; }),
            RenewOutcome::kOk);
  EXPECT_EQ(seen, clock_.wall_ns());
  EXPECT_EQ(latest(), latest_before);
  EXPECT_EQ(find("h1")->dirty_timestamp, before.dirty_timestamp);
}

TEST_F(RegistryTest, RenewUnknownIsNotFound) {
  EXPECT_EQ(renew("nobody"), RenewOutcome::kNotFound);
  registry_.register_instance(args("h1"));
  EXPECT_EQ(registry_.renew(key("h1", "provider", "other-zone"), std::nullopt,
                            [](RenewOutcome, const Instance&) {}),
            RenewOutcome::kNotFound);
}

TEST_F(RegistryTest, ReplicatedRenewComparesDirtyTimestamps) {
  registry_.register_instance(args("h1"));
  const int64_t dirty = find("h1")->dirty_timestamp;
  EXPECT_EQ(renew("h1", dirty), RenewOutcome::kOk);
  bool newer_saw_ours = false;
  EXPECT_EQ(registry_.renew(key("h1"), dirty + 1,
                            [&](RenewOutcome o, const Instance& i) {
                              newer_saw_ours =
                                  o == RenewOutcome::kPeerNewer && i.dirty_timestamp == dirty;
                            }),
            RenewOutcome::kPeerNewer);
  EXPECT_TRUE(newer_saw_ours) << "Bilibili's -404 to a newer sender carries our copy";
  bool got_instance = false;
  EXPECT_EQ(registry_.renew(key("h1"), dirty - 1,
                            [&](RenewOutcome o, const Instance&) {
                              got_instance = o == RenewOutcome::kPeerOlder;
                            }),
            RenewOutcome::kPeerOlder);
  EXPECT_TRUE(got_instance);
}

TEST_F(RegistryTest, CancelRemovesAndEmptiesZoneAndApp) {
  registry_.register_instance(args("h1", "provider", "sh001"));
  registry_.register_instance(args("h2", "provider", "sh002"));
  EXPECT_TRUE(registry_.cancel(key("h1", "provider", "sh001")));
  EXPECT_FALSE(registry_.cancel(key("h1", "provider", "sh001")));
  bool has_zone = true;
  registry_.read_app("dev", "provider",
                     [&](const App& app) { has_zone = app.zones.contains("sh001"); });
  EXPECT_FALSE(has_zone);
  EXPECT_TRUE(registry_.cancel(key("h2", "provider", "sh002")));
  EXPECT_FALSE(registry_.read_app("dev", "provider", [](const App&) {}));
  EXPECT_EQ(registry_.stats().instances, 0);
}

TEST_F(RegistryTest, RecreatedAppStartsAboveItsTombstone) {
  registry_.register_instance(args("h1"));
  registry_.cancel(key("h1"));
  const int64_t tombstone = clock_.wall_ns();
  clock_.step_wall(-1h);
  registry_.register_instance(args("h1"));
  EXPECT_GT(latest(), tombstone);
}

TEST_F(RegistryTest, GuardExpectationFollowsRegistersAndCancels) {
  registry_.register_instance(args("h1"));
  registry_.register_instance(args("h2"));
  registry_.register_instance(args("h2"));  // same identity: no new expectation
  EXPECT_EQ(registry_.stats().expected_renews, 4);
  registry_.cancel(key("h1"));
  EXPECT_EQ(registry_.stats().expected_renews, 2);
  registry_.cancel(key("h2"));
  registry_.cancel(key("h2"));
  EXPECT_EQ(registry_.stats().expected_renews, 0);
}

TEST_F(RegistryTest, SetChangesStatusMergesMetadataAndBumps) {
  auto a = args("h1");
  a.metadata = {{"keep", "1"}, {"weight", "10"}};
  registry_.register_instance(a);
  const auto before = *find("h1");
  clock_.advance(1s);
  SetArgs s;
  s.zone = "sh001";
  s.env = "dev";
  s.appid = "provider";
  s.hostnames = {"h1"};
  s.statuses = {kStatusDown};
  s.metadatas = {{{"weight", "20"}, {"new", "x"}}};
  const auto out = registry_.set(s);
  ASSERT_EQ(out.error, "");
  const auto after = *find("h1");
  EXPECT_EQ(after.status, kStatusDown);
  EXPECT_EQ(metadata_of(after),
            (std::vector<std::string>{"keep", "1", "new", "x", "weight", "20"}));
  EXPECT_EQ(after.dirty_timestamp, out.set_timestamp);
  EXPECT_GT(after.latest_timestamp, before.latest_timestamp);
  EXPECT_EQ(after.latest_timestamp, latest());
  EXPECT_EQ(after.up_timestamp, before.up_timestamp);  // status 2 leaves up_timestamp alone
  clock_.advance(1s);
  s.statuses = {kStatusUp};
  s.metadatas.clear();
  const auto up = registry_.set(s);
  EXPECT_EQ(find("h1")->up_timestamp, up.set_timestamp);
}

TEST_F(RegistryTest, SetIsAllOrNothing) {
  registry_.register_instance(args("h1"));
  const auto before = *find("h1");
  const int64_t latest_before = latest();
  SetArgs s;
  s.zone = "sh001";
  s.env = "dev";
  s.appid = "provider";
  s.hostnames = {"h1", "ghost"};
  s.statuses = {kStatusDown, kStatusDown};
  EXPECT_NE(registry_.set(s).error, "");
  EXPECT_EQ(find("h1")->status, before.status);
  EXPECT_EQ(latest(), latest_before);
  s.hostnames = {"h1"};
  s.statuses = {3};
  EXPECT_NE(registry_.set(s).error, "");
  s.statuses = {kStatusDown, kStatusDown};  // count mismatch
  EXPECT_NE(registry_.set(s).error, "");
  s.statuses = {kStatusDown};
  s.zone = "nowhere";
  EXPECT_NE(registry_.set(s).error, "");
  s.zone = "sh001";
  s.appid = "nothing";
  EXPECT_NE(registry_.set(s).error, "");
  EXPECT_EQ(find("h1")->status, kStatusUp);
}

TEST_F(RegistryTest, ClientSetTimestampBeatsEveryTouchedDirty) {
  auto a = args("h1");
  a.dirty_timestamp = clock_.wall_ns() + 1'000'000;  // a peer's copy from a clock ahead of ours
  registry_.register_instance(a);
  SetArgs s{"sh001", "dev", "provider", {"h1"}, {kStatusDown}, {}, 0};
  EXPECT_EQ(registry_.set(s).set_timestamp, a.dirty_timestamp + 1);
  s.set_timestamp = 777;  // replicated: used as given
  EXPECT_EQ(registry_.set(s).set_timestamp, 777);
  EXPECT_EQ(find("h1")->dirty_timestamp, 777);
}

TEST_F(RegistryTest, AppNamesAreSortedByAppidThenEnvAndChangesRaiseTheGeneration) {
  auto b = args("h1", "b");
  auto a_prod = args("h1", "a");
  a_prod.env = "prod";
  const uint64_t before = registry_.generation();
  registry_.register_instance(b);
  registry_.register_instance(a_prod);
  registry_.register_instance(args("h1", "a"));
  std::vector<std::string> order;
  for (const auto& [appid, env] : registry_.app_names())
    order.push_back(appid + "/" + env);
  EXPECT_EQ(order, (std::vector<std::string>{"a/dev", "a/prod", "b/dev"}));
  const uint64_t registered = registry_.generation();
  EXPECT_EQ(registered, before + 3);
  renew("h1", std::nullopt);
  EXPECT_EQ(registry_.generation(), registered) << "a renew changes no answer's shape";
  EXPECT_TRUE(registry_.cancel(key("h1", "b")));
  EXPECT_GT(registry_.generation(), registered);
}

}  // namespace
}  // namespace muster::registry::testing

namespace muster::registry::testing {
namespace {

uint64_t digest_of(Registry& r, std::string_view appid = "provider") {
  for (const AppDigest& d : r.digests())
    if (d.appid == appid) return d.digest;
  return 0;
}

TEST_F(RegistryTest, DigestIsTheSameForTheSameInstancesWhateverTheOrderOrRenews) {
  FakeClock c1, c2;
  Registry r1(c1, {}), r2(c2, {});
  RegisterArgs a = args("h1");
  RegisterArgs b = args("h2");
  a.dirty_timestamp = 100;
  b.dirty_timestamp = 200;
  r1.register_instance(a);
  r1.register_instance(b);
  c2.advance(std::chrono::seconds(5));  // other renew and register times
  r2.register_instance(b);
  r2.register_instance(a);
  EXPECT_NE(digest_of(r1), 0u);
  EXPECT_EQ(digest_of(r1), digest_of(r2));
  EXPECT_EQ(r1.digests()[0].instances, 2u);
  r2.renew({"sh001", "dev", "provider", "h1"}, std::nullopt, [](RenewOutcome, const Instance&) {});
  EXPECT_EQ(digest_of(r1), digest_of(r2)) << "a renew changes nothing anti-entropy repairs";
}

TEST_F(RegistryTest, DigestChangesWithANewerCopyASetAndARemoval) {
  FakeClock clock;
  Registry r(clock, {});
  RegisterArgs a = args("h1");
  a.dirty_timestamp = 100;
  r.register_instance(a);
  const uint64_t first = digest_of(r);
  a.dirty_timestamp = 101;
  r.register_instance(a);
  EXPECT_NE(digest_of(r), first);
  RegisterArgs b = args("h2");
  r.register_instance(b);
  const uint64_t two = digest_of(r);
  SetArgs s{"sh001", "dev", "provider", {"h2"}, {kStatusDown}, {}, 0};
  ASSERT_EQ(r.set(s).error, "");
  EXPECT_NE(digest_of(r), two);
  ASSERT_TRUE(r.cancel({"sh001", "dev", "provider", "h2"}));
  EXPECT_EQ(digest_of(r), instance_digest("sh001", "h1", 101)) << "only h1 is left";
}

}  // namespace
// Issue 15.4: no arithmetic on a timestamp may overflow, whatever a peer sent.
TEST_F(RegistryTest, TheLargestDirtyTimestampDoesNotOverflow) {
  auto pinned = args("h1");
  pinned.dirty_timestamp = std::numeric_limits<int64_t>::max();
  registry_.register_instance(pinned);
  auto again = args("h1");
  again.version = "2";
  EXPECT_EQ(registry_.register_instance(again), RegisterOutcome::kApplied);
  EXPECT_EQ(find("h1")->version, "2");
  SetArgs s{"sh001", "dev", "provider", {"h1"}, {kStatusDown}, {}, 0};
  EXPECT_EQ(registry_.set(s).error, "");
}

}  // namespace muster::registry::testing
