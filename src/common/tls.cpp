#include "common/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/ip/address.hpp>

namespace muster::tls {
namespace {

namespace ssl = boost::asio::ssl;

// What both sides share: TLS 1.2 at least, no compression (CRIME), no renegotiation (a client
// could make the server redo the costliest step at will).
void harden(ssl::context& ctx) {
  SSL_CTX* c = ctx.native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION);
}

std::string file_problem(std::string_view what, const std::string& path,
                         const boost::system::error_code& ec) {
  std::string detail = last_error();
  if (detail.empty()) detail = ec.message();
  return std::string(what) + " " + path + ": " + detail;
}

// Loads a certificate chain and its key into `ctx`; "" or why not.
std::string load_identity(ssl::context& ctx, const std::string& cert, const std::string& key) {
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cert, ec);
  if (ec) return file_problem("certificate", cert, ec);
  ctx.use_private_key_file(key, ssl::context::pem, ec);
  if (ec) return file_problem("key", key, ec);
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1)
    return "key " + key + " does not belong to certificate " + cert;
  return {};
}

}  // namespace

std::string last_error() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out;
}

std::variant<ServerContext, std::string> server_context(const ServerFiles& files) {
  if (files.cert.empty() || files.key.empty()) return "TLS needs both a certificate and a key";
  ServerContext out;
  out.context = std::make_shared<ssl::context>(ssl::context::tls_server);
  ssl::context& ctx = *out.context;
  harden(ctx);
  if (auto problem = load_identity(ctx, files.cert, files.key); !problem.empty()) return problem;
  boost::system::error_code ec;
  for (const std::string* ca : {&files.client_ca, &files.peer_ca}) {
    if (ca->empty()) continue;
    ctx.load_verify_file(*ca, ec);
    if (ec) return file_problem("CA", *ca, ec);
  }
  if (!files.client_ca.empty()) {
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  } else if (!files.peer_ca.empty()) {
    ctx.set_verify_mode(ssl::verify_peer);  // asked for, not required: clients need none
  }
  // An idle connection (a parked poll) gives its record buffers back until it reads again.
  SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  // A record in one read(2), not its header and then its body (two per request, measured).
  SSL_CTX_set_read_ahead(ctx.native_handle(), 1);
  // Resumed sessions with client verification need a context id (else OpenSSL fails them).
  static constexpr unsigned char kSessionContext[] = "muster";
  SSL_CTX_set_session_id_context(ctx.native_handle(), kSessionContext, sizeof kSessionContext - 1);
  if (!files.peer_ca.empty()) {
    X509_STORE* store = X509_STORE_new();
    out.peer_store.reset(store, [](void* s) { X509_STORE_free(static_cast<X509_STORE*>(s)); });
    if (X509_STORE_load_file(store, files.peer_ca.c_str()) != 1)
      return "peer CA " + files.peer_ca + ": " + last_error();
  }
  return out;
}

bool ServerContext::is_peer(void* ssl_handle) const {
  if (!peer_store) return false;
  SSL* s = static_cast<SSL*>(ssl_handle);
  X509* cert = SSL_get0_peer_certificate(s);
  if (cert == nullptr) return false;
  X509_STORE_CTX* check = X509_STORE_CTX_new();
  if (check == nullptr) return false;
  bool ok = false;
  // The chain the client sent (without its own certificate, on a server) may hold intermediates.
  if (X509_STORE_CTX_init(check, static_cast<X509_STORE*>(peer_store.get()), cert,
                          SSL_get_peer_cert_chain(s)) == 1) {
    ok = X509_verify_cert(check) == 1;
  }
  X509_STORE_CTX_free(check);
  ERR_clear_error();
  return ok;
}

std::variant<std::shared_ptr<ssl::context>, std::string> client_context(const ClientFiles& files) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  harden(*ctx);
  boost::system::error_code ec;
  if (files.ca.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) return "the system's CAs: " + ec.message();
  } else {
    ctx->load_verify_file(files.ca, ec);
    if (ec) return file_problem("CA", files.ca, ec);
  }
  ctx->set_verify_mode(ssl::verify_peer);
  if (files.cert.empty() != files.key.empty())
    return "a client certificate needs both --cert and --key";
  if (!files.cert.empty()) {
    if (auto problem = load_identity(*ctx, files.cert, files.key); !problem.empty()) return problem;
  }
  return ctx;
}

void expect_server(void* ssl_handle, const std::string& host) {
  SSL* s = static_cast<SSL*>(ssl_handle);
  std::string name = host;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']')
    name = name.substr(1, name.size() - 2);
  boost::system::error_code not_ip;
  boost::asio::ip::make_address(name, not_ip);
  if (not_ip) {
    SSL_set_tlsext_host_name(s, name.c_str());
    SSL_set1_host(s, name.c_str());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), name.c_str());
  }
}

}  // namespace muster::tls
