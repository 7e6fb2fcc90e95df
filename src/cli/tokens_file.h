#pragma once
// The tokens file of `muster serve --tokens FILE` (docs/security.md): a strict YAML map
//   admin: [token, ...]          # every right a client has, `set` included
//   write:                       # register, renew, cancel, Consul agent writes, by appid prefix
//     - token: ...
//       appids: ["pay.", "web"]  # "" covers every appid
//   read: [token, ...]           # optional: once given, reads need a token
//   peer: [token, ...]           # what nodes send each other; the first is this node's own
// Each right takes a list, so that a new token can work beside the old one while it rolls out.
// Read at start and again on SIGHUP. Threading: a pure function of the file.
#include <string>
#include <variant>

#include "api/access.h"

namespace muster::cli {

// The tokens, or what is wrong with the file (naming the key and line, never a token's text).
std::variant<api::Tokens, std::string> read_tokens_file(const std::string& path);

}  // namespace muster::cli
