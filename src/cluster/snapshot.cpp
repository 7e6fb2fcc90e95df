#include "cluster/snapshot.h"

#include <algorithm>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

namespace muster::cluster {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

namespace {

std::string_view str(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

int64_t num(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

}  // namespace

// An instance as rendered by fetch/all or a -409 answer, as a replicated register: the peer's
// dirty_timestamp decides which copy wins.
std::optional<registry::RegisterArgs> instance_args(const boost::json::value& v) {
  if (!v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  registry::RegisterArgs a;
  a.region = str(o, "region");
  a.zone = str(o, "zone");
  a.env = str(o, "env");
  a.appid = str(o, "appid");
  a.hostname = str(o, "hostname");
  a.version = str(o, "version");
  if (a.zone.empty() || a.env.empty() || a.appid.empty() || a.hostname.empty()) return std::nullopt;
  if (const auto* addrs = o.if_contains("addrs"); addrs != nullptr && addrs->is_array()) {
    for (const auto& addr : addrs->get_array())
      if (addr.is_string()) a.addrs.emplace_back(addr.get_string());
  }
  if (const auto* md = o.if_contains("metadata"); md != nullptr && md->is_object()) {
    for (const auto& [k, val] : md->get_object()) {
      if (val.is_string()) a.metadata.emplace_back(k, val.get_string());
    }
    std::sort(a.metadata.begin(), a.metadata.end());
  }
  a.status = static_cast<int>(num(o, "status"));
  if (a.status != registry::kStatusUp && a.status != registry::kStatusDown)
    a.status = registry::kStatusUp;
  a.dirty_timestamp = num(o, "dirty_timestamp");
  if (a.dirty_timestamp <= 0) return std::nullopt;
  return a;
}

asio::awaitable<std::optional<std::string>> http_get(asio::io_context& ioc, const std::string& addr,
                                                     std::string_view target,
                                                     std::chrono::nanoseconds timeout) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos) co_return std::nullopt;
  tcp::resolver resolver(ioc);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(addr.substr(0, colon), addr.substr(colon + 1), kNoThrow);
  if (rec) co_return std::nullopt;
  tcp::socket socket(ioc);
  asio::steady_timer deadline(ioc);
  deadline.expires_after(timeout);
  deadline.async_wait([&socket](const boost::system::error_code& ec) {
    if (!ec) socket.close();
  });
  struct CancelOnExit {
    asio::steady_timer& t;
    ~CancelOnExit() { t.cancel(); }
  } cancel{deadline};
  auto [cec, ep] = co_await asio::async_connect(socket, endpoints, kNoThrow);
  if (cec || !socket.is_open()) co_return std::nullopt;
  const std::string request =
      "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n";
  auto [wec, w] = co_await asio::async_write(socket, asio::buffer(request), kNoThrow);
  if (wec) co_return std::nullopt;
  boost::beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  auto [ec, n] = co_await bhttp::async_read(socket, buffer, parser, kNoThrow);
  if (ec || parser.get().result_int() != 200) co_return std::nullopt;
  co_return std::move(parser.get().body());
}

std::optional<size_t> apply_snapshot(registry::Registry& registry, std::string_view body) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  const auto* code = o.if_contains("code");
  const auto* data = o.if_contains("data");
  if (code == nullptr || !code->is_int64() || code->get_int64() != 0) return std::nullopt;
  if (data == nullptr || !data->is_object()) return std::nullopt;
  size_t applied = 0;
  for (const auto& [appid, list] : data->get_object()) {
    if (!list.is_array()) continue;
    for (const auto& inst : list.get_array()) {
      if (auto args = instance_args(inst)) {
        registry.register_instance(*args);
        ++applied;
      }
    }
  }
  return applied;
}

}  // namespace muster::cluster
