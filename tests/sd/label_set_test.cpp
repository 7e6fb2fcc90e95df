// Label sets: a sorted map of names to values in one shared allocation, and the pool that makes
// equal sets one allocation (what keeps a 1,000,000-group source small).
#include "sd/label_set.h"

#include <gtest/gtest.h>

#include "sd/target_group.h"

namespace muster::sd {
namespace {

std::vector<std::string> flat(const LabelSet& l) {
  std::vector<std::string> out;
  for (const auto& [name, value] : l)
    out.push_back(std::string(name) + "=" + std::string(value));
  return out;
}

TEST(LabelSet, SortedByNameAndTheLaterOfTwoEqualNamesCounts) {
  const LabelSet l({{"b", "2"}, {"a", "1"}, {"c", "3"}, {"a", "again"}});
  EXPECT_EQ(flat(l), (std::vector<std::string>{"a=again", "b=2", "c=3"}));
  EXPECT_EQ(l.size(), 3u);
  EXPECT_EQ(l.at("b"), "2");
  EXPECT_EQ(l.find("c")->second, "3");
  EXPECT_EQ(l.find("d"), l.end());
  EXPECT_FALSE(l.contains(""));
  EXPECT_THROW((void)l.at("d"), std::out_of_range);
  EXPECT_TRUE(LabelSet().empty());
  EXPECT_EQ(LabelSet().begin(), LabelSet().end());
}

TEST(LabelSet, FindsEveryNameAmongMany) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 100; ++i)
    pairs.emplace_back("n" + std::to_string(i), "v" + std::to_string(i));
  const LabelSet l(pairs);
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(l.at("n" + std::to_string(i)), "v" + std::to_string(i));
  EXPECT_FALSE(l.contains("n100"));
  EXPECT_FALSE(l.contains("m"));
}

TEST(LabelSet, ChangingACopyLeavesTheOriginal) {
  const LabelSet original{{"a", "1"}, {"b", "2"}};
  LabelSet copy = original;
  EXPECT_EQ(copy.identity(), original.identity()) << "a copy shares the allocation";
  copy.set("a", "changed");
  copy.set("c", "3");
  EXPECT_EQ(flat(original), (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(flat(copy), (std::vector<std::string>{"a=changed", "b=2", "c=3"}));
  EXPECT_TRUE(copy.erase("b"));
  EXPECT_FALSE(copy.erase("b"));
  EXPECT_EQ(flat(copy), (std::vector<std::string>{"a=changed", "c=3"}));
  EXPECT_EQ(original.at("b"), "2");
  LabelSet moved = std::move(copy);
  EXPECT_TRUE(copy.empty());  // NOLINT: a moved-from set is empty
  EXPECT_EQ(moved.size(), 2u);
  moved = moved;  // NOLINT: self-assignment keeps it
  EXPECT_EQ(moved.size(), 2u);
}

TEST(LabelSet, EqualityOrderAndHashAreByContent) {
  const LabelSet a{{"x", "1"}, {"y", "2"}};
  const LabelSet b{{"y", "2"}, {"x", "1"}};
  EXPECT_NE(a.identity(), b.identity());
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_NE(a, (LabelSet{{"x", "1"}}));
  EXPECT_NE(a, (LabelSet{{"x", "1"}, {"y", "3"}}));
  EXPECT_TRUE((LabelSet{{"x", "1"}}) < a);
  EXPECT_FALSE(a < b);
  // Names and values are not confused when their text runs together.
  EXPECT_NE((LabelSet{{"ab", "c"}}), (LabelSet{{"a", "bc"}}));
}

TEST(LabelSetPool, EqualSetsShareOneAllocation) {
  LabelSetPool pool;
  const LabelSet a = pool.intern(LabelSet{{"dc", "1"}, {"team", "t"}});
  const LabelSet b = pool.intern(LabelSet{{"team", "t"}, {"dc", "1"}});
  const LabelSet c = pool.intern(LabelSet{{"dc", "2"}});
  EXPECT_EQ(a.identity(), b.identity());
  EXPECT_NE(a.identity(), c.identity());
  EXPECT_EQ(pool.distinct(), 2u);
}

TEST(LabelSetPool, GroupsReadWithEqualLabelsShareThemAndKeepSharingAfterAProviderLabel) {
  auto parsed = parse_groups_json(
      R"([{"targets":["a:1"],"labels":{"dc":"1"}},{"targets":["b:1"],"labels":{"dc":"1"}},)"
      R"({"targets":["c:1"],"labels":{"dc":"2"}}])");
  auto& groups = std::get<Groups>(parsed);
  EXPECT_EQ(groups[0].labels.identity(), groups[1].labels.identity());
  set_group_label(groups, "__meta_filepath", "/f.json");
  EXPECT_EQ(groups[0].labels.identity(), groups[1].labels.identity());
  EXPECT_NE(groups[0].labels.identity(), groups[2].labels.identity());
  EXPECT_EQ(flat(groups[1].labels), (std::vector<std::string>{"__meta_filepath=/f.json", "dc=1"}));
  EXPECT_EQ(flat(groups[2].labels), (std::vector<std::string>{"__meta_filepath=/f.json", "dc=2"}));
}

}  // namespace
}  // namespace muster::sd
