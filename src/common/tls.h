#pragma once
// TLS through OpenSSL (Asio's ssl::context): the contexts a node serves with and the ones every
// client side (libmuster, the CLI, peers, muster sd) connects with. TLS 1.2 is the lowest version
// either side speaks. Certificates and keys are PEM files; a context is built whole from its
// files or not at all, so that a reload that fails keeps the one in force.
// Threading: a built context is shared read-only by every connection made from it; Reloadable
// hands out the current one from any thread.
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <variant>

namespace muster::tls {

// What a server presents and whom it accepts.
struct ServerFiles {
  std::string cert;  // PEM chain, the node's certificate first
  std::string key;   // PEM private key of `cert`
  // CA of the client certificates required (mTLS): a client without one signed by it (or by
  // peer_ca) is refused during the handshake. Empty: no client certificate is asked for.
  std::string client_ca;
  // CA of the certificates that identify peer nodes: a client presenting one may replicate
  // (docs/security.md). Also accepted as client certificates under mTLS.
  std::string peer_ca;
  bool enabled() const { return !cert.empty(); }
};

// What a client trusts and presents.
struct ClientFiles {
  std::string ca;    // CA of the servers' certificates; empty: the system's trusted CAs
  std::string cert;  // client certificate for mTLS (PEM chain); empty: none
  std::string key;   // its private key
};

// A server context and the store that recognises peers' certificates.
struct ServerContext {
  std::shared_ptr<boost::asio::ssl::context> context;
  std::shared_ptr<void> peer_store;  // an X509_STORE*; null without peer_ca
  // Whether the certificate the client of `ssl` (an SSL*) presented was issued by peer_ca.
  bool is_peer(void* ssl) const;
};

// A client context (a struct, so that a Reloadable can hold one).
struct ClientContext {
  std::shared_ptr<boost::asio::ssl::context> context;
};

// Builds a context from its files, or says which file is wrong and why.
std::variant<ServerContext, std::string> server_context(const ServerFiles& files);
std::variant<std::shared_ptr<boost::asio::ssl::context>, std::string> client_context(
    const ClientFiles& files);

// Prepares the client side of `ssl` (an SSL*) for `host`: SNI for a name, and verification that
// the server's certificate is for `host` (a name or an IP address).
void expect_server(void* ssl, const std::string& host);

// The last OpenSSL error of this thread, in words ("" for none); clears the queue.
std::string last_error();

// A value rebuilt from files on demand (SIGHUP): current() is what new connections use;
// connections already open keep the one they started with.
template <typename T>
class Reloadable {
 public:
  using Build = std::function<std::variant<T, std::string>()>;
  // Builds the first value; on failure `error` says why and current() is empty.
  Reloadable(Build build, std::string& error) : build_(std::move(build)) { error = reload(); }
  // Builds anew; on failure keeps the value in force and returns why ("" on success).
  std::string reload() {
    auto built = build_();
    if (auto* problem = std::get_if<std::string>(&built)) return *problem;
    std::lock_guard lock(mu_);
    current_ = std::make_shared<const T>(std::get<T>(std::move(built)));
    return {};
  }
  std::shared_ptr<const T> current() const {
    std::lock_guard lock(mu_);
    return current_;
  }

 private:
  const Build build_;
  mutable std::mutex mu_;
  std::shared_ptr<const T> current_;
};

using ServerTls = Reloadable<ServerContext>;
using ClientTls = Reloadable<ClientContext>;

}  // namespace muster::tls
