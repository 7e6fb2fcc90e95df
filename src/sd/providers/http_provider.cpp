#include "sd/providers/http_provider.h"

#include <boost/beast/http/status.hpp>
#include <boost/url/parse.hpp>
#include <cctype>

#include "common/http_exchange.h"
#include "sd/groups_json_reader.h"
#include "sd/providers/refresh_provider.h"

namespace muster::sd {

namespace asio = boost::asio;

// Prometheus's ^(?i:application\/json(;\s*charset=("utf-8"|utf-8))?)$ after TrimSpace, by hand:
// std::regex trips GCC 12's -Wmaybe-uninitialized in sanitizer builds, and is slow besides.
bool http_sd_content_type_ok(std::string_view content_type) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!content_type.empty() && space(content_type.front()))
    content_type.remove_prefix(1);
  while (!content_type.empty() && space(content_type.back()))
    content_type.remove_suffix(1);
  std::string lower(content_type);
  for (char& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view rest(lower);
  constexpr std::string_view kType = "application/json";
  if (rest.substr(0, kType.size()) != kType) return false;
  rest.remove_prefix(kType.size());
  if (rest.empty()) return true;
  if (rest.front() != ';') return false;
  rest.remove_prefix(1);
  while (!rest.empty() && space(rest.front()))
    rest.remove_prefix(1);
  return rest == "charset=utf-8" || rest == "charset=\"utf-8\"";
}

namespace {

// Go's strconv.FormatFloat(seconds, 'f', -1, 64): "60", "0.5".
std::string seconds_text(milliseconds interval) {
  std::string s = std::to_string(interval.count() / 1000);
  if (const auto ms = interval.count() % 1000; ms != 0) {
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03lld", static_cast<long long>(ms));
    s += frac;
    while (s.back() == '0')
      s.pop_back();
  }
  return s;
}

struct Target {
  std::string url, addr, host_header, path;
  // For an https:// url: the context, or why there is none (tls_config's files).
  std::shared_ptr<asio::ssl::context> tls;
  std::string tls_error;
};

asio::awaitable<RefreshProvider::Result> fetch(asio::io_context& io, Target target,
                                               HttpConfig config) {
  if (!target.tls_error.empty()) co_return "tls_config: " + target.tls_error;
  const std::string headers =
      "User-Agent: muster-sd\r\nAccept: application/json\r\n"
      "X-Prometheus-Refresh-Interval-Seconds: " +
      seconds_text(config.refresh_interval) + "\r\n";
  asio::ip::tcp::socket socket(io);
  // (Built outside the co_await: see ClientCore::request on GCC 12's temporaries.)
  std::string request = http_request_bytes("GET", target.path, target.host_header, headers);
  std::string why;
  // The body goes to the reader as it arrives (a 1,000,000-group answer is never held as text),
  // and only after the status and content type say it is a document.
  GroupsJsonReader reader;
  HttpBodySink sink;
  sink.header = [](const HttpResponse::header_type& h) {
    return h.result_int() == 200 &&
           http_sd_content_type_ok(h[boost::beast::http::field::content_type]);
  };
  sink.body = [&reader](std::string_view piece) { return reader.write(piece); };
  auto response =
      co_await http_exchange(socket, target.addr, std::move(request), config.refresh_interval,
                             256ull * 1024 * 1024, target.tls.get(), &why, &sink);
  if (!response) {
    co_return "GET " + target.url + ": " +
        (why.empty() ? "no answer (connection failed or timed out)" : why);
  }
  if (response->result_int() != 200) {
    co_return "server returned HTTP status " + std::to_string(response->result_int()) + " " +
        std::string(boost::beast::http::obsolete_reason(response->result()));
  }
  const auto content_type = (*response)[boost::beast::http::field::content_type];
  if (!http_sd_content_type_ok(content_type))
    co_return "unsupported content type \"" + std::string(content_type) + "\"";
  auto parsed = reader.finish();
  if (auto* problem = std::get_if<std::string>(&parsed)) co_return *problem;
  Groups groups = std::move(std::get<Groups>(parsed));
  const Source document(target.url);
  for (size_t i = 0; i < groups.size(); ++i)
    groups[i].source = Source::group_of(document, i);
  set_group_label(groups, "__meta_url", target.url);
  co_return groups;
}

}  // namespace

std::unique_ptr<Provider> make_provider(const HttpConfig& config, ProviderContext context) {
  // The config parser has checked the URL's shape; Boost.URL splits it.
  const auto url = boost::urls::parse_uri(config.url);
  Target target;
  target.url = config.url;
  if (url) {
    const std::string host(url->encoded_host());
    const bool https = url->scheme() == "https";
    const std::string port = url->has_port() ? std::string(url->port()) : https ? "443" : "80";
    if (https) {
      auto tls = tls_context(config.tls);
      if (auto* problem = std::get_if<std::string>(&tls))
        target.tls_error = *problem;
      else
        target.tls = std::get<0>(std::move(tls));
    }
    target.host_header = std::string(url->encoded_host_and_port());
    target.addr = host + ":" + port;
    target.path = std::string(url->encoded_resource());
  }
  if (target.path.empty() || target.path[0] != '/') target.path = "/" + target.path;
  asio::io_context& io = context.io;
  const milliseconds interval = config.refresh_interval;
  return std::make_unique<RefreshProvider>(
      std::move(context), interval, [&io, target, config]() { return fetch(io, target, config); });
}

}  // namespace muster::sd
