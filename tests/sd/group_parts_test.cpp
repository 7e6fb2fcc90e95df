// The parts of a target group that keep a 1,000,000-group source small: its source (a shared
// document name and a number) and its targets (one inline, more on the heap).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "sd/target_group.h"

namespace muster::sd {
namespace {

TEST(Source, ADocumentsGroupsKeepTheDocumentsOrderAndReadAsText) {
  const Source doc("/etc/sd/a.json");
  std::vector<Source> s{Source::group_of(doc, 10), Source::group_of(doc, 2), Source("web"),
                        Source::group_of(Source("/etc/sd/0.json"), 99), Source::group_of({}, 3)};
  std::sort(s.begin(), s.end());
  std::vector<std::string> text;
  for (const auto& x : s)
    text.push_back(x.str());
  EXPECT_EQ(text, (std::vector<std::string>{"3", "/etc/sd/0.json:99", "/etc/sd/a.json:2",
                                            "/etc/sd/a.json:10", "web"}));
  // Equal whether or not they share the name's allocation; a number is not part of the name.
  EXPECT_EQ(Source::group_of(doc, 2), Source::group_of(Source("/etc/sd/a.json"), 2));
  EXPECT_NE(Source::group_of(doc, 2), Source::group_of(doc, 3));
  EXPECT_NE(Source("/etc/sd/a.json:2"), Source::group_of(doc, 2));
  EXPECT_EQ(Source::group_of(doc, 2), "/etc/sd/a.json:2");
  EXPECT_EQ(Source(), "");
  EXPECT_EQ(Source::group_of(doc, 7).name(), "/etc/sd/a.json");
}

TEST(Source, CopiesAndMovesKeepTheName) {
  Source a = Source::group_of(Source("doc"), 1);
  Source b = a;
  Source c = std::move(a);
  EXPECT_EQ(b, c);
  EXPECT_EQ(a, Source());  // NOLINT(bugprone-use-after-move): moved-from is the empty source
  a = c;
  b = Source("other");
  c = std::move(b);
  EXPECT_EQ(a.str(), "doc:1");
  EXPECT_EQ(c.str(), "other");
}

LabelSet target(int i) {
  return LabelSet{{"__address__", "h" + std::to_string(i) + ":80"}};
}

TEST(Targets, OneInlineManyOnTheHeapLikeAVector) {
  static_assert(sizeof(Targets) == 16);
  static_assert(sizeof(TargetGroup) == 40);
  Targets t;
  EXPECT_TRUE(t.empty());
  std::vector<LabelSet> expected;
  for (int i = 0; i < 9; ++i) {
    t.push_back(target(i));
    expected.push_back(target(i));
    ASSERT_EQ(t.size(), expected.size());
    EXPECT_TRUE(std::equal(t.begin(), t.end(), expected.begin(), expected.end()));
  }
  EXPECT_EQ(t.at(8).at("__address__"), "h8:80");
  EXPECT_THROW((void)t.at(9), std::out_of_range);
  Targets copy = t;
  EXPECT_EQ(copy, t);
  Targets moved = std::move(copy);
  EXPECT_EQ(moved, t);
  EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move)
  moved.clear();
  EXPECT_TRUE(moved.empty());
  moved.emplace_back(target(1));
  EXPECT_EQ(moved, (Targets{target(1)}));
  EXPECT_NE(moved, t);
  Targets one{target(5)};
  Targets one_moved = std::move(one);
  EXPECT_EQ(one_moved[0].at("__address__"), "h5:80");
  one_moved = t;
  EXPECT_EQ(one_moved, t);
  t = Targets{};
  EXPECT_TRUE(t.empty());
  // An empty label set is a target too (it is left out of outputs, not of the group).
  Targets blank;
  blank.push_back(LabelSet());
  EXPECT_EQ(blank.size(), 1u);
}

}  // namespace
}  // namespace muster::sd
