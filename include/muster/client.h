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
  std::vector<std::string> nodes;  // host:port of registry nodes
  std::string region, zone, env, hostname;
  std::chrono::milliseconds request_timeout{3000};
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
// host:port), REGION, ZONE, DEPLOY_ENV, HOSTNAME; values already set in `given` win. An error
// message naming what is missing or malformed, never an exception.
std::variant<ClientOptions, std::string> options_from_environment(ClientOptions given = {});

namespace detail {
class ClientCore;
}

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
  std::shared_ptr<detail::ClientCore> core() const { return core_; }

 private:
  std::shared_ptr<detail::ClientCore> core_;
};

}  // namespace muster
