// The index of the zone's Consul registrations (checks/check_index.h): kept up to date by the
// registry through every change (register, set, cancel, eviction of a native copy), holding only
// instances without heartbeat of its zone, and filled with what the registry held before it.
#include "checks/check_index.h"

#include <gtest/gtest.h>

#include "common/clock.h"

namespace muster::checks {
namespace {

registry::RegisterArgs consul(std::string appid, std::string host, std::vector<std::string> ids,
                              std::string zone = "z1") {
  registry::RegisterArgs a;
  a.zone = std::move(zone);
  a.env = "dev";
  a.appid = std::move(appid);
  a.hostname = std::move(host);
  a.addrs = {"http://127.0.0.1:1"};
  a.lease = false;
  std::vector<Check> list;
  for (auto& id : ids) {
    Check c;
    c.id = std::move(id);
    c.ttl = std::chrono::seconds(10);
    list.push_back(c);
  }
  if (!list.empty()) a.metadata = {{std::string(kChecksKey), check_list_json(list)}};
  return a;
}

TEST(CheckIndexTest, FindsRegistrationsAndChecksByIdThroughEveryChange) {
  FakeClock clock;
  registry::Registry registry(clock, {});
  // Held before the index: told when it is added.
  registry.register_instance(consul("web", "web-1", {"service:web-1"}));
  CheckIndex index("z1");
  registry.add_observer(&index, true);
  ASSERT_TRUE(index.service("dev", "web-1"));
  EXPECT_EQ(index.service("dev", "web-1")->appid, "web");
  ASSERT_TRUE(index.check("dev", "service:web-1"));
  EXPECT_EQ(index.check("dev", "service:web-1")->instance.hostname, "web-1");
  EXPECT_FALSE(index.check("prod", "service:web-1"));

  // Another zone's registration, and a native instance (with heartbeat), are not the agent's.
  registry.register_instance(consul("web", "far-1", {"far"}, "z2"));
  auto native = consul("web", "n-1", {"native"});
  native.lease = true;
  registry.register_instance(native);
  EXPECT_FALSE(index.service("dev", "far-1"));
  EXPECT_FALSE(index.check("dev", "native"));
  EXPECT_EQ(index.registrations(), 1u);

  // A set of the checks' metadata replaces the checks found.
  registry::SetArgs set;
  set.zone = "z1";
  set.env = "dev";
  set.appid = "web";
  set.hostnames = {"web-1"};
  Check renamed;
  renamed.id = "renamed";
  set.metadatas = {{{std::string(kChecksKey), check_list_json({renamed})}}};
  ASSERT_TRUE(registry.set(set).error.empty());
  EXPECT_FALSE(index.check("dev", "service:web-1"));
  EXPECT_TRUE(index.check("dev", "renamed"));
  ASSERT_EQ(index.with_checks()->size(), 1u);
  EXPECT_EQ((*index.with_checks())[0]->checks[0].id, "renamed");
  const auto listed = index.with_checks();
  EXPECT_EQ(index.with_checks(), listed) << "one list until something changes";
  registry.register_instance(native);  // a native instance's change changes nothing here
  EXPECT_EQ(index.with_checks(), listed);

  // The same ID in two apps (replicated from a node that let it be shadowed): the first appid,
  // as the scan it replaces found it; and each goes with its own cancel.
  registry.register_instance(consul("api", "web-1", {"renamed"}));
  EXPECT_EQ(index.service("dev", "web-1")->appid, "api");
  EXPECT_EQ(index.check("dev", "renamed")->instance.appid, "api");
  registry.cancel({"z1", "dev", "api", "web-1"});
  EXPECT_EQ(index.service("dev", "web-1")->appid, "web");
  EXPECT_EQ(index.check("dev", "renamed")->instance.appid, "web");

  // Registered again with a heartbeat (the native API), it leaves the index.
  auto leased = consul("web", "web-1", {"renamed"});
  leased.lease = true;
  registry.register_instance(leased);
  EXPECT_FALSE(index.service("dev", "web-1"));
  EXPECT_FALSE(index.check("dev", "renamed"));
  EXPECT_EQ(index.registrations(), 0u);
  EXPECT_TRUE(index.with_checks()->empty());

  registry.register_instance(consul("db", "db-1", {}));
  EXPECT_TRUE(index.service("dev", "db-1")) << "a registration without checks has its ID too";
  EXPECT_TRUE(index.with_checks()->empty());
  registry.cancel({"z1", "dev", "db", "db-1"});
  EXPECT_FALSE(index.service("dev", "db-1"));
  registry.remove_observer(&index);
  registry.register_instance(consul("db", "db-2", {}));
  EXPECT_FALSE(index.service("dev", "db-2")) << "removed: told nothing more";
}

}  // namespace
}  // namespace muster::checks
