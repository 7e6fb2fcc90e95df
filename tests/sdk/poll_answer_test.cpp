// Reading a poll answer (issue 15.1): one instance whose text is not valid UTF-8 (an older node,
// or one of another make, may hold it) is left out and counted; the rest of the answer is used.
#include <gtest/gtest.h>

#include "sdk/poll_loop.h"

namespace muster::detail {
namespace {

TEST(PollAnswer, AnUnreadableInstanceCostsOnlyItself) {
  const std::string body =
      "{\"code\":0,\"data\":{\"a\":{\"instances\":{\"sh001\":["
      "{\"appid\":\"a\",\"zone\":\"sh001\",\"hostname\":\"bad\xff\",\"status\":1},"
      "{\"appid\":\"a\",\"zone\":\"sh001\",\"hostname\":\"good\",\"status\":1,"
      "\"metadata\":{\"k\":\"v\"}}]},\"latest_timestamp\":7},"
      "\"b\":{\"instances\":{\"sh001\":[{\"appid\":\"b\",\"zone\":\"sh001\",\"hostname\":\"h\","
      "\"addrs\":[\"http://\xc3\"],\"status\":1}]},\"latest_timestamp\":9}}}";
  const auto answer = parse_poll_answer(body);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->skipped, 2u);
  ASSERT_EQ(answer->apps.at("a").second.size(), 1u);
  EXPECT_EQ(answer->apps.at("a").second[0].hostname, "good");
  EXPECT_EQ(answer->apps.at("a").first, 7);
  EXPECT_TRUE(answer->apps.at("b").second.empty());
  EXPECT_EQ(answer->apps.at("b").first, 9) << "the app's version is still read";
}

TEST(PollAnswer, NotJsonIsNoAnswer) {
  EXPECT_FALSE(parse_poll_answer("{\"code\":0,"));
  EXPECT_FALSE(parse_poll_answer("<html>"));
}

}  // namespace
}  // namespace muster::detail
