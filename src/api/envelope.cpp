#include "api/envelope.h"

#include "common/json_writer.h"

namespace muster::api {

http::Response envelope(int code, std::string_view message, std::string_view data,
                        std::string_view error, size_t reserve) {
  http::Response r;
  r.app_code = code;
  r.has_app_code = true;
  r.body.reserve(64 + message.size() + data.size() + error.size() + reserve);
  r.body += "{\"code\":";
  json::append_int(r.body, code);
  r.body += ",\"message\":";
  json::append_string(r.body, message);
  r.body += ",\"ttl\":1";
  if (!data.empty()) {
    r.body += ",\"data\":";
    r.body += data;
  }
  if (!error.empty()) {
    r.body += ",\"error\":";
    r.body += error;
  }
  r.body.push_back('}');
  r.headers.push_back({"kratos-status-code", std::to_string(code)});
  return r;
}

http::Response envelope_with(int code, std::string_view message,
                             FunctionRef<void(std::string&)> append_data, size_t size_hint) {
  http::Response r = envelope(code, message, {}, {}, size_hint);
  r.body.pop_back();  // the closing brace
  r.body += ",\"data\":";
  append_data(r.body);
  r.body.push_back('}');
  return r;
}

}  // namespace muster::api
