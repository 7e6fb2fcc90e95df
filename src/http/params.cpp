#include "http/params.h"

#include <cctype>

namespace muster::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `plus_is_space`: a form's '+' (a path's is a '+').
std::optional<std::string> decode_component(std::string_view in, std::string& out,
                                            bool plus_is_space = true) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%') {
      const int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return "malformed percent escape in \"" + std::string(in.substr(0, 64)) + "\"";
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> percent_decode_path(std::string_view segment) {
  std::string out;
  if (decode_component(segment, out, false)) return std::nullopt;
  return out;
}

std::optional<std::string_view> Params::first(std::string_view key) const {
  for (const auto& [k, v] : pairs_) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

std::vector<std::string_view> Params::all(std::string_view key) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : pairs_) {
    if (k == key && !v.empty()) out.emplace_back(v);
  }
  return out;
}

std::vector<std::string_view> Params::all_raw(std::string_view key) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : pairs_) {
    if (k == key) out.emplace_back(v);
  }
  return out;
}

std::optional<std::string> parse_urlencoded(std::string_view text, Params& out) {
  std::string key, value;
  while (!text.empty()) {
    const size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (auto err = decode_component(pair.substr(0, eq), key)) return err;
    if (auto err = decode_component(
            eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), value)) {
      return err;
    }
    out.add(key, value);
  }
  return std::nullopt;
}

bool is_json_content_type(std::string_view ct) {
  const size_t semi = ct.find(';');
  std::string_view media = ct.substr(0, semi);
  while (!media.empty() && std::isspace(static_cast<unsigned char>(media.back())))
    media.remove_suffix(1);
  while (!media.empty() && std::isspace(static_cast<unsigned char>(media.front())))
    media.remove_prefix(1);
  constexpr std::string_view kJson = "application/json";
  if (media.size() != kJson.size()) return false;
  for (size_t i = 0; i < kJson.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(media[i])) != kJson[i]) return false;
  }
  return true;
}

std::string redacted_target(std::string_view target) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, q + 1));
  std::string_view rest = target.substr(q + 1);
  bool first = true;
  while (true) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    if (!first) out.push_back('&');
    first = false;
    const size_t eq = pair.find('=');
    std::string key;
    if (decode_component(pair.substr(0, eq), key)) key.clear();  // malformed: kept as it is
    for (char& c : key)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (key == "token" && eq != std::string_view::npos) {
      out.append(pair.substr(0, eq + 1));
      out.append("<hidden>");
    } else {
      out.append(pair);
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace muster::http
