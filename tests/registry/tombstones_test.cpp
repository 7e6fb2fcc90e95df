// Tombstones keep an emptied app's version, bounded in time, number and bytes (issue 15.2).
#include "registry/tombstones.h"

#include <gtest/gtest.h>

namespace muster::registry {
namespace {

TEST(Tombstones, KeepTheVersionUntilTaken) {
  Tombstones t(10, 1 << 20);
  t.add("provider", "dev", 42, 1);
  EXPECT_EQ(t.take("provider", "prod"), std::nullopt);
  EXPECT_EQ(t.take("provider", "dev"), 42);
  EXPECT_EQ(t.take("provider", "dev"), std::nullopt) << "taken once";
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.bytes(), 0u);
}

TEST(Tombstones, KeysAreUnambiguous) {
  Tombstones t(10, 1 << 20);
  t.add(std::string_view("a\0b", 3), "c", 1, 1);
  t.add("a", std::string_view("b\0c", 3), 2, 1);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.take("a", std::string_view("b\0c", 3)), 2);
}

TEST(Tombstones, TheOldestGoFirstPastTheCount) {
  Tombstones t(3, 1 << 20);
  for (int i = 0; i < 5; ++i)
    t.add("app" + std::to_string(i), "dev", i, i);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.dropped(), 2u);
  EXPECT_EQ(t.take("app0", "dev"), std::nullopt);
  EXPECT_EQ(t.take("app1", "dev"), std::nullopt);
  EXPECT_EQ(t.take("app4", "dev"), 4);
}

TEST(Tombstones, LargeKeysAreBoundedInBytes) {
  Tombstones t(1000, 64 * 1024);
  const std::string big(10 * 1024, 'x');
  for (int i = 0; i < 100; ++i)
    t.add(big + std::to_string(i), "dev", i, i);
  EXPECT_LE(t.bytes(), 64u * 1024);
  EXPECT_EQ(t.size(), 6u);  // 6 × (10,241 + 3 + 4 + 128) fits in 64 KiB, 7 do not
  EXPECT_EQ(t.dropped(), 94u);
}

TEST(Tombstones, ExpireBeforeAndRefresh) {
  Tombstones t(10, 1 << 20);
  t.add("a", "dev", 1, 100);
  t.add("b", "dev", 2, 200);
  t.add("a", "dev", 3, 300);  // deleted again: the newer time counts
  t.expire_before(250);
  EXPECT_EQ(t.take("b", "dev"), std::nullopt);
  EXPECT_EQ(t.take("a", "dev"), 3);
}

}  // namespace
}  // namespace muster::registry
