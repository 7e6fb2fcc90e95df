// The Consul API's parked queries (api/consul_watch.h): a watcher is woken by its app's changes (or
// any change of its env, for the catalog) until it is removed. (The indexes are the registry's:
// tests/registry/consul_index_test.cpp.)
#include "api/consul_watch.h"

#include <gtest/gtest.h>

namespace muster::api {
namespace {

struct CountingWakeup : http::Wakeup {
  void fire() override { ++fired; }
  int fired = 0;
};

TEST(ConsulWatchTest, WatchersHearTheirAppOrTheirEnvsCatalogUntilRemoved) {
  FakeClock clock;
  registry::Registry registry(clock, {});
  ConsulWatch watch(registry);
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
