#include "cluster/peer_answer.h"

#include <time.h>

#include <boost/beast/http.hpp>
#include <charconv>

namespace muster::cluster {

std::optional<int64_t> sender_clock_of(std::string_view muster_clock, std::string_view date) {
  int64_t ns = 0;
  const char* end = muster_clock.data() + muster_clock.size();
  if (!muster_clock.empty()) {
    const auto [p, ec] = std::from_chars(muster_clock.data(), end, ns);
    if (ec == std::errc() && p == end && ns > 0) return ns;
  }
  // RFC 9110's IMF-fixdate, what Go's net/http sends: "Sun, 06 Nov 1994 08:49:37 GMT".
  if (date.empty() || date.size() > 64) return std::nullopt;
  const std::string text(date);
  struct tm tm {};
  const char* rest = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (rest == nullptr || *rest != '\0') return std::nullopt;
  const time_t seconds = timegm(&tm);
  if (seconds <= 0) return std::nullopt;
  return static_cast<int64_t>(seconds) * 1'000'000'000;
}

std::optional<PeerAnswer> read_peer_answer(std::string_view bytes, uint64_t body_limit) {
  namespace http = boost::beast::http;
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  parser.eager(true);
  boost::system::error_code ec;
  size_t used = 0;
  while (!parser.is_done() && used < bytes.size()) {
    const size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec || n == 0) break;
    used += n;
  }
  // Connection: close: an answer without a length ends where the bytes do.
  if (!ec && !parser.is_done() && parser.is_header_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return std::nullopt;
  auto response = parser.release();
  PeerAnswer answer;
  answer.status = response.result_int();
  answer.sender_clock = sender_clock_of(response["X-Muster-Clock"], response[http::field::date]);
  answer.body = std::move(response.body());
  return answer;
}

}  // namespace muster::cluster
