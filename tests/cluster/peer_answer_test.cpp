// What a node takes from a peer's answer (cluster/peer_answer.h): the body within the limit, a
// declared length over it refused before anything is allocated for it, and the sender's clock.
#include "cluster/peer_answer.h"

#include <gtest/gtest.h>

namespace muster::cluster {
namespace {

TEST(PeerAnswerTest, ReadsTheBodyAndTheSendersClock) {
  const auto a = read_peer_answer(
      "HTTP/1.1 200 OK\r\nX-Muster-Clock: 1700000000123456789\r\nContent-Length: 2\r\n\r\n{}");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 200u);
  EXPECT_EQ(a->body, "{}");
  EXPECT_EQ(a->sender_clock, 1700000000123456789);
  // A Bilibili node's Date, to the second; chunked; a body that ends with the connection.
  const auto b = read_peer_answer(
      "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\n{}\r\n0\r\n\r\n");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->body, "{}");
  EXPECT_EQ(b->sender_clock, 784111777ll * 1'000'000'000);
  const auto c = read_peer_answer("HTTP/1.1 503 No\r\nConnection: close\r\n\r\nbusy");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status, 503u);
  EXPECT_EQ(c->body, "busy");
  EXPECT_EQ(c->sender_clock, std::nullopt);
}

// Issue 27.1: a fake peer that declared a 100 GiB body made every node of a zone abort.
TEST(PeerAnswerTest, AnAnswerOverTheLimitIsRefusedWhateverItDeclares) {
  EXPECT_FALSE(read_peer_answer("HTTP/1.1 200 OK\r\nContent-Length: 107374182400\r\n\r\n{"));
  EXPECT_FALSE(read_peer_answer("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n"));
  // Chunks that add up past the limit, and a body without a length that runs past it.
  EXPECT_FALSE(
      read_peer_answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                       "chunked\r\n\r\n8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n",
                       12));
  EXPECT_FALSE(read_peer_answer("HTTP/1.1 200 OK\r\n\r\n0123456789abcdef", 12));
  EXPECT_TRUE(read_peer_answer("HTTP/1.1 200 OK\r\n\r\n0123456789ab", 12));
  // Cut short, or not HTTP.
  EXPECT_FALSE(read_peer_answer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}"));
  EXPECT_FALSE(read_peer_answer("{\"code\":0}"));
}

}  // namespace
}  // namespace muster::cluster
