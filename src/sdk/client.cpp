#include <cstdlib>

#include "client_core.h"
#include "common/http_exchange.h"
#include "poll_loop.h"
#include "wire/instance_json.h"
#include "wire/node_list.h"

namespace muster {

std::vector<std::string> parse_node_list(std::string_view text) {
  const auto parts = wire::split_list(text);
  return {parts.begin(), parts.end()};
}

namespace {

std::string env_or(const char* name, const std::string& given) {
  if (!given.empty()) return given;
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace

std::variant<ClientOptions, std::string> options_from_environment(ClientOptions given) {
  if (given.nodes.empty()) {
    const char* nodes = std::getenv("DISCOVERY_NODES");
    if (nodes != nullptr) given.nodes = parse_node_list(nodes);
  }
  given.region = env_or("REGION", given.region);
  given.zone = env_or("ZONE", given.zone);
  given.env = env_or("DEPLOY_ENV", given.env);
  given.hostname = env_or("HOSTNAME", given.hostname);
  given.token = env_or("MUSTER_TOKEN", given.token);
  given.ca_file = env_or("MUSTER_CA", given.ca_file);
  given.cert_file = env_or("MUSTER_CERT", given.cert_file);
  given.key_file = env_or("MUSTER_KEY", given.key_file);
  if (auto problem = given.validate(); !problem.empty()) return problem;
  return given;
}

std::string ClientOptions::validate() const {
  if (nodes.empty()) return "no registry nodes: set DISCOVERY_NODES (host:port,host:port) or nodes";
  for (const std::string& n : nodes)
    if (!wire::valid_host_port(detail::node_address(n).addr))
      return "node \"" + n + "\" is not host:port (or https://host:port)";
  if (zone.empty()) return "no zone: set ZONE or zone";
  if (env.empty()) return "no env: set DEPLOY_ENV or env";
  if (hostname.empty()) return "no hostname: set HOSTNAME or hostname";
  if (request_timeout.count() <= 0) return "request_timeout must be positive";
  if (poll_hold.count() <= 0) return "poll_hold must be positive";
  for (char c : token)  // it goes into a header line
    if (c <= ' ' || c > '~') return "token must be visible ASCII without spaces";
  if (cert_file.empty() != key_file.empty())
    return "a client certificate needs both cert_file and key_file";
  return {};
}

Client::Client(ClientOptions options) : core_(std::make_shared<detail::ClientCore>(options)) {}

std::variant<std::unique_ptr<Client>, std::string> Client::create(ClientOptions options) {
  if (auto problem = options.validate(); !problem.empty()) return problem;
  auto client = std::make_unique<Client>(std::move(options));
  if (const auto& problem = client->core_->tls_error(); !problem.empty()) return "TLS: " + problem;
  return client;
}

Client::~Client() = default;

const ClientOptions& Client::options() const {
  return core_->options();
}

std::variant<Answer, std::string> Client::call(std::string_view method, std::string target,
                                               std::string body,
                                               std::chrono::milliseconds hold) const {
  detail::ClientCore& core = *core_;
  const ClientOptions& options = core.options();
  std::vector<std::string> tried;
  using Outcome = std::pair<std::optional<detail::HttpResult>, std::string>;  // and why not
  for (size_t attempt = 0; attempt < options.nodes.size(); ++attempt) {
    const std::string node = core.node();
    tried.push_back(node);
    const auto timeout = options.request_timeout + hold;
    // Copies, not references: a request that outlives the wait still runs on the core's thread.
    auto result = detail::run_and_wait<Outcome>(
        core, timeout + std::chrono::seconds(1),
        [&core, method = std::string(method), target, body, timeout,
         hold]() -> boost::asio::awaitable<Outcome> {
          detail::RequestControl control;
          control.timeout = timeout;
          if (hold.count() > 0)
            control.headers = "x1-bmspy-timeout: " + std::to_string(hold.count()) + "\r\n";
          auto answer = co_await core.request(method, target, body, &control);
          co_return Outcome{std::move(answer), std::move(control.failure)};
        });
    if (result && !result->second.empty()) tried.back() += ": " + result->second;
    if (!result || !result->first) continue;  // the core moved on to the next node
    auto& http = *result->first;
    const auto envelope = wire::read_envelope(http.body);
    if (!envelope) {
      return node + " answered HTTP " + std::to_string(http.status) +
             " without a registry answer: " + http.body.substr(0, 200);
    }
    return Answer{node, envelope->code, envelope->message, std::move(http.body)};
  }
  std::string list;
  for (const auto& t : tried)
    list += (list.empty() ? "" : ", ") + t;
  return "no node answered (tried " + list + ")";
}

namespace detail {

NodeAddress node_address(std::string_view node) {
  NodeAddress out;
  if (node.starts_with("https://")) {
    node.remove_prefix(8);
    out.tls = true;
  } else if (node.starts_with("http://")) {
    node.remove_prefix(7);
  }
  while (!node.empty() && node.back() == '/')
    node.remove_suffix(1);
  out.addr = std::string(node);
  return out;
}

ClientCore& core_of(const Client& client) {
  return *client.core_;
}

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

ClientCore::ClientCore(ClientOptions options)
    : options_(std::move(options)),
      auth_lines_(options_.token.empty() ? "" : "Authorization: Bearer " + options_.token + "\r\n"),
      work_(asio::make_work_guard(ioc_)),
      node_(0),
      rng_(std::random_device{}()) {
  bool any_tls = false;
  for (const std::string& n : options_.nodes) {
    nodes_.push_back(node_address(n));
    nodes_.back().tls |= options_.tls;
    any_tls |= nodes_.back().tls;
  }
  if (any_tls) {
    auto built = tls::client_context({options_.ca_file, options_.cert_file, options_.key_file});
    if (auto* problem = std::get_if<std::string>(&built))
      tls_error_ = *problem;
    else
      tls_ = std::get<0>(std::move(built));
  }
  // Clients of one service spread over the nodes rather than all starting at the first.
  if (!nodes_.empty()) node_ = std::uniform_int_distribution<size_t>(0, nodes_.size() - 1)(rng_);
  thread_ = std::thread([this] { ioc_.run(); });
}

ClientCore::~ClientCore() {
  work_.reset();
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
}

std::string ClientCore::node() const {
  return nodes_[node_ % nodes_.size()].addr;
}

PollLoop& ClientCore::poll_loop() {
  if (!poll_loop_) poll_loop_ = std::make_shared<PollLoop>(*this);
  return *poll_loop_;
}

void ClientCore::next_node() {
  ++node_;
}

std::chrono::milliseconds ClientCore::backoff(int failures) {
  auto d = options_.backoff;
  for (int i = 1; i < failures && d < options_.max_backoff; ++i)
    d *= 2;
  d = std::min(d, options_.max_backoff);
  const auto half = d.count() / 2;
  return std::chrono::milliseconds(half + std::uniform_int_distribution<int64_t>(0, half)(rng_));
}

asio::awaitable<std::optional<HttpResult>> ClientCore::request(std::string_view method,
                                                               std::string target, std::string body,
                                                               RequestControl* control) {
  const NodeAddress& target_node = nodes_[node_ % nodes_.size()];
  const std::string addr = target_node.addr;
  // A TLS node without a usable context (its files are wrong: tls_error()) fails as unreachable.
  asio::ssl::context* tls = target_node.tls ? tls_.get() : nullptr;
  const bool unusable = target_node.tls && !tls_;
  tcp::socket socket(ioc_);
  const auto timeout = control != nullptr && control->timeout.count() > 0
                           ? control->timeout
                           : options_.request_timeout;
  std::optional<HttpResponse> response;
  if (!unusable && (control == nullptr || !control->interrupted)) {
    if (control != nullptr) control->socket = &socket;
    // Built outside the co_await: GCC 12 destroys some temporaries of a co_await's full
    // expression twice (a conditional's std::string here was freed twice).
    std::string headers = auth_lines_;
    if (control != nullptr) headers += control->headers;
    const std::string_view content_type =
        method == "POST" ? "application/x-www-form-urlencoded" : "";
    std::string request = http_request_bytes(method, target, addr, headers, body, content_type);
    response =
        co_await http_exchange(socket, addr, std::move(request), timeout, 256ull * 1024 * 1024, tls,
                               control != nullptr ? &control->failure : nullptr);
  }
  const bool interrupted = control != nullptr && control->interrupted;
  if (unusable && control != nullptr) control->failure = "TLS: " + tls_error_;
  if (control != nullptr) control->socket = nullptr;
  if (!response) {
    if (!interrupted) next_node();
    co_return std::nullopt;
  }
  co_return HttpResult{static_cast<int>(response->result_int()), std::move(response->body())};
}

std::optional<int> envelope_code(const std::string& body) {
  const auto envelope = wire::read_envelope(body);
  if (!envelope) return std::nullopt;
  return envelope->code;
}

}  // namespace detail
}  // namespace muster
