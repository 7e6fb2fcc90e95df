// The Consul API's indexes and parked queries (api/consul_watch.h): indexes rise from the node's
// start time and never go backwards, per app and for the catalog; a watcher is woken by its app's
// changes (or any change of its env, for the catalog) until it is removed.
#include "api/consul_watch.h"

#include <gtest/gtest.h>

namespace muster::api {
namespace {

struct CountingWakeup : http::Wakeup {
  void fire() override { ++fired; }
  int fired = 0;
};

TEST(ConsulWatchTest, IndexesStartAtTheClockAndOnlyRise) {
  FakeClock clock;
  ConsulWatch watch(clock);
  const uint64_t start = watch.catalog_index();
  EXPECT_EQ(start, static_cast<uint64_t>(clock.wall_ns() / 1000)) << "microseconds";
  EXPECT_LT(start, uint64_t{1} << 53) << "what JavaScript and jq hold exactly";
  EXPECT_EQ(watch.app_index("dev", "web"), start) << "an app never seen has the floor";
  watch.changed("dev", "web");
  const uint64_t web = watch.app_index("dev", "web");
  EXPECT_GT(web, start) << "the clock did not move: last + 1";
  EXPECT_EQ(watch.catalog_index(), web);
  clock.advance(std::chrono::seconds(5));
  watch.changed("dev", "api");
  EXPECT_EQ(watch.app_index("dev", "api"), static_cast<uint64_t>(clock.wall_ns() / 1000));
  EXPECT_EQ(watch.app_index("dev", "web"), web) << "another app's change leaves web's index";
  EXPECT_EQ(watch.app_index("prod", "web"), start) << "env is part of the key";
  clock.step_wall(-std::chrono::hours(1));  // the wall clock steps back
  watch.changed("dev", "web");
  EXPECT_GT(watch.app_index("dev", "web"), watch.app_index("dev", "api"));
}

TEST(ConsulWatchTest, WatchersHearTheirAppOrTheirEnvsCatalogUntilRemoved) {
  FakeClock clock;
  ConsulWatch watch(clock);
  auto web = std::make_shared<CountingWakeup>();
  auto catalog = std::make_shared<CountingWakeup>();
  auto other_env = std::make_shared<CountingWakeup>();
  const uint64_t web_id = watch.watch("dev", "web", web);
  watch.watch("dev", "", catalog);
  watch.watch("prod", "", other_env);
  EXPECT_EQ(watch.watching(), 3u);
  watch.changed("dev", "web");
  watch.changed("dev", "api");
  EXPECT_EQ(web->fired, 1);
  EXPECT_EQ(catalog->fired, 2);
  EXPECT_EQ(other_env->fired, 0);
  watch.unwatch(web_id);
  watch.unwatch(web_id);  // twice is harmless
  watch.changed("dev", "web");
  EXPECT_EQ(web->fired, 1);
  EXPECT_EQ(watch.watching(), 2u);
}

}  // namespace
}  // namespace muster::api
