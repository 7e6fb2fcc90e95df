// The UTF-8 check every text field passes at the boundary (issue 15.1).
#include "common/utf8.h"

#include <gtest/gtest.h>

namespace muster {
namespace {

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("provider.api-1"));
  EXPECT_TRUE(valid_utf8("\xc3\xa9t\xc3\xa9"));         // été
  EXPECT_TRUE(valid_utf8("\xe4\xb8\xad\xe6\x96\x87"));  // 中文
  EXPECT_TRUE(valid_utf8("\xf0\x9f\x98\x80"));          // U+1F600
  EXPECT_TRUE(valid_utf8("\xf4\x8f\xbf\xbf"));          // U+10FFFF
  EXPECT_TRUE(valid_utf8(std::string_view("a\0b", 3)));
}

TEST(Utf8, RefusesWhatJsonReadersRefuse) {
  EXPECT_FALSE(valid_utf8("bad\xff"));
  EXPECT_FALSE(valid_utf8("\x80"));              // a continuation byte alone
  EXPECT_FALSE(valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(valid_utf8("\xe4\xb8"));          // truncated
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(valid_utf8("\xf0\x80\x80\xaf"));  // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate (U+D800)
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(valid_utf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(valid_utf8("\xc3\x28"));  // a bad continuation
}

TEST(Utf8, PrefixNeverCutsACharacter) {
  EXPECT_EQ(utf8_prefix("abc", 10), "abc");
  EXPECT_EQ(utf8_prefix("abc", 2), "ab");
  EXPECT_EQ(utf8_prefix("a\xc3\xa9", 2), "a");  // é would be cut
  EXPECT_EQ(utf8_prefix("\xe4\xb8\xad\xe6\x96\x87", 4), "\xe4\xb8\xad");
  EXPECT_TRUE(valid_utf8(utf8_prefix("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 7)));
}

}  // namespace
}  // namespace muster
