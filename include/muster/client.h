#pragma once
// A connection to a muster (or Bilibili discovery) cluster: where the nodes are and who this
// client is. Registrars and resolvers made from one Client share its one background thread.
//
// Threading: a Client is created and destroyed on one thread; everything else it offers may be
// called from any thread. Work runs on the Client's own thread; callbacks of the objects made
// from it run there too, one at a time, and must not block it.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace muster {

struct ClientOptions {
  // Registry nodes: host:port, or https://host:port for a node that serves TLS.
  std::vector<std::string> nodes;
  std::string region, zone, env, hostname;
  std::chrono::milliseconds request_timeout{3000};
  // Sent as "Authorization: Bearer <token>" with every request, for nodes that have tokens
  // (docs/security.md): a write token for a registrar, a read token for a resolver. "" none.
  std::string token;
  // TLS (docs/security.md): https:// nodes, and every node when `tls` is set, are reached over
  // TLS 1.2+, their certificate verified against `ca_file` (PEM; empty: the system's trusted
  // CAs) and their host name or address. `cert_file` and `key_file` (PEM, both or neither) are
  // the client certificate for nodes that require one (mTLS).
  bool tls = false;
  std::string ca_file, cert_file, key_file;
  // After a node fails, the next request waits this long (doubling per failure, with jitter, up
  // to max_backoff) and goes to the next node.
  std::chrono::milliseconds backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  // The long poll of resolvers: how long a node may hold it (sent as x1-bmspy-timeout; the
  // request itself may take 5 s more), and how often the client moves to another node even when
  // nothing failed, so that clients spread again over nodes that came back.
  std::chrono::milliseconds poll_hold{30000};
  std::chrono::milliseconds move_every{std::chrono::minutes(30)};
  // Called on the client's thread each time a resolver's long poll fails: the node did not
  // answer in time, or answered with an error or with something that is not a poll answer. It
  // gets the node and the reason; the loop moves on and retries by itself. Empty: not reported.
  std::function<void(const std::string& node, const std::string& reason)> on_poll_error;
  // Called on the client's thread when a poll succeeds again after failures, with the node.
  std::function<void(const std::string& node)> on_poll_recovered;
  // Called on the client's thread when an answer held instances that could not be read (text
  // that is not valid UTF-8): they are left out, the rest is used. Gets the node and how many.
  std::function<void(const std::string& node, size_t skipped)> on_unreadable;

  // Empty when the options are complete and well formed; else what is wrong.
  std::string validate() const;
};

// A comma-separated node list as DISCOVERY_NODES holds it: parts trimmed of spaces, empty parts
// dropped.
std::vector<std::string> parse_node_list(std::string_view text);

// Options from the environment, as kratos clients read it: DISCOVERY_NODES (comma-separated
// host:port), REGION, ZONE, DEPLOY_ENV, HOSTNAME, and muster's MUSTER_TOKEN, MUSTER_CA,
// MUSTER_CERT and MUSTER_KEY; values already set in `given` win. An error
// message naming what is missing or malformed, never an exception.
std::variant<ClientOptions, std::string> options_from_environment(ClientOptions given = {});

// One answer of the discovery API (docs/api.md).
struct Answer {
  std::string node;  // host:port of the node that answered
  int code = 0;      // the envelope's code: 0 OK, -404 not found, -304 nothing changed, ...
  std::string message;
  std::string body;  // the whole answer: JSON with code, message and usually data
};

class Client;
namespace detail {
class ClientCore;
// Internal to libmuster: the machinery behind a Client, for the objects made from it.
ClientCore& core_of(const Client& client);
}  // namespace detail

class Client {
 public:
  // Starts the background thread. The options must validate (see create()).
  explicit Client(ClientOptions options);
  // A client, or what is wrong with the options.
  static std::variant<std::unique_ptr<Client>, std::string> create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientOptions& options() const;

  // One request of the discovery API for a one-off tool (the muster CLI): tried on each node in
  // turn, once, until one answers with an envelope. `target` is the path and query
  // ("/discovery/fetch?appid=..."), `body` a form for POST. A `hold` above zero makes it a long
  // poll: sent as x1-bmspy-timeout and added to the request timeout. Returns the answer, whatever
  // its code, or why there is none ("no node answered (tried ...)", or a node's answer that is
  // not a registry's). Blocks the caller; never call it from a callback on the client's thread.
  std::variant<Answer, std::string> call(std::string_view method, std::string target,
                                         std::string body = {},
                                         std::chrono::milliseconds hold = {}) const;

 private:
  friend detail::ClientCore& detail::core_of(const Client& client);
  std::shared_ptr<detail::ClientCore> core_;
};

}  // namespace muster
