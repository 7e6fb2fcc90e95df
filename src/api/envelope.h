#pragma once
// The JSON envelope of every answer on a handled route (docs/decisions.md §2): HTTP 200, key order
// code, message, ttl, data, error; the kratos-status-code header always set.
#include <string>
#include <string_view>

#include "common/function_ref.h"
#include "http/message.h"

namespace muster::api {

enum Code : int {
  kOk = 0,
  kNotModified = -304,
  kBadRequest = -400,
  kUnauthorized = -401,   // no token, or one not known (Bilibili's ecode.Unauthorized)
  kAccessDenied = -403,   // a token without the right (ecode.AccessDenied)
  kLimitExceeded = -509,  // a per-client limit (ecode.LimitExceed)
  kNotFound = -404,
  kConflict = -409,
  kInitProtect = -500,
};

// `data` and `error` are JSON texts, left out when empty. `message` is "0" for code 0.
// `reserve` is room for more body text that the caller appends, so the body is allocated once.
http::Response envelope(int code, std::string_view message, std::string_view data = {},
                        std::string_view error = {}, size_t reserve = 0);
// The same envelope with `data` written straight into the body by `append_data`.
http::Response envelope_with(int code, std::string_view message,
                             FunctionRef<void(std::string&)> append_data, size_t size_hint = 512);
inline http::Response ok(std::string_view data = {}) {
  return envelope(kOk, "0", data);
}
inline http::Response bad_request(std::string_view message) {
  return envelope(kBadRequest, message);
}

}  // namespace muster::api
