#include "http/json_params.h"

#include <boost/json/basic_parser_impl.hpp>

#include "common/json_writer.h"
#include "http/params.h"

namespace muster::http {
namespace {

using boost::system::error_code;
using jsv = boost::json::string_view;

constexpr std::string_view kBadMetadataValue =
    "metadata values must be strings, numbers, booleans or null";

// Flattens one JSON document into (key, value) pairs. In body mode the document is a request
// body (docs/decisions.md §1); in string-object mode it is a metadata object.
class FlatHandler {
 public:
  static constexpr size_t max_object_size = size_t(-1);
  static constexpr size_t max_array_size = size_t(-1);
  static constexpr size_t max_key_size = size_t(-1);
  static constexpr size_t max_string_size = size_t(-1);

  enum class Mode { kBody, kStringObject };
  FlatHandler(Mode mode, StringPairs& out) : mode_(mode), out_(out) {}
  const std::string& error() const { return error_; }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_comment_part(jsv, error_code&) { return true; }
  bool on_comment(jsv, error_code&) { return true; }

  bool on_object_begin(error_code& ec) {
    if (stack_.empty()) return push(Ctx::kTop);
    const bool metadata = mode_ == Mode::kBody && key_ == "metadata";
    if (stack_.back() == Ctx::kMeta || !metadata) {
      return fail(ec, mode_ == Mode::kBody && stack_.back() != Ctx::kMeta
                          ? key_ + ": nested JSON objects are only allowed for metadata"
                          : std::string(kBadMetadataValue));
    }
    meta_json_ = "{";
    meta_first_ = true;
    return push(Ctx::kMeta);
  }
  bool on_object_end(size_t, error_code&) {
    if (stack_.back() == Ctx::kMeta) {
      meta_json_.push_back('}');
      out_.emplace_back(key_, std::move(meta_json_));
    }
    stack_.pop_back();
    return true;
  }
  bool on_array_begin(error_code& ec) {
    if (stack_.empty()) return fail(ec, "the JSON body must be an object");
    if (mode_ == Mode::kStringObject || stack_.back() == Ctx::kMeta) {
      return fail(ec, std::string(kBadMetadataValue));
    }
    if (stack_.back() == Ctx::kArray)
      return fail(ec, key_ + ": nested JSON arrays are not allowed");
    return push(Ctx::kArray);
  }
  bool on_array_end(size_t, error_code&) {
    stack_.pop_back();
    return true;
  }
  bool on_key_part(jsv s, size_t, error_code&) {
    partial_.append(s.data(), s.size());
    return true;
  }
  bool on_key(jsv s, size_t, error_code&) {
    std::string& target = stack_.back() == Ctx::kMeta ? meta_key_ : key_;
    target = std::move(partial_);
    target.append(s.data(), s.size());
    partial_.clear();
    return true;
  }
  bool on_string_part(jsv s, size_t, error_code&) { return on_key_part(s, 0, dummy_); }
  bool on_string(jsv s, size_t, error_code& ec) { return scalar(s, ec); }
  bool on_number_part(jsv s, error_code&) { return on_key_part(s, 0, dummy_); }
  bool on_int64(int64_t, jsv s, error_code& ec) { return scalar(s, ec); }
  bool on_uint64(uint64_t, jsv s, error_code& ec) { return scalar(s, ec); }
  bool on_double(double, jsv s, error_code& ec) { return scalar(s, ec); }
  bool on_bool(bool b, error_code& ec) { return scalar(b ? "true" : "false", ec); }
  bool on_null(error_code& ec) {
    if (stack_.empty()) return fail(ec, top_level_error());
    // In a request body null means absent; inside a metadata object it is an empty value.
    if (stack_.back() == Ctx::kMeta || mode_ == Mode::kStringObject) return scalar("", ec);
    return true;
  }

 private:
  enum class Ctx { kTop, kArray, kMeta };

  bool push(Ctx c) {
    stack_.push_back(c);
    return true;
  }
  bool fail(error_code& ec, std::string message) {
    error_ = std::move(message);
    ec = boost::json::error::syntax;
    return false;
  }
  std::string top_level_error() const {
    return mode_ == Mode::kBody ? "the JSON body must be an object"
                                : "metadata must be a JSON object";
  }
  bool scalar(jsv s, error_code& ec) {
    std::string text = std::move(partial_);
    partial_.clear();
    text.append(s.data(), s.size());
    if (stack_.empty()) return fail(ec, top_level_error());
    if (stack_.back() == Ctx::kMeta) {
      if (!meta_first_) meta_json_.push_back(',');
      meta_first_ = false;
      json::append_string(meta_json_, meta_key_);
      meta_json_.push_back(':');
      json::append_string(meta_json_, text);
      return true;
    }
    out_.emplace_back(key_, std::move(text));
    return true;
  }

  Mode mode_;
  StringPairs& out_;
  std::vector<Ctx> stack_;
  std::string key_, meta_key_, meta_json_, partial_, error_;
  bool meta_first_ = true;
  error_code dummy_;
};

std::optional<std::string> run(FlatHandler::Mode mode, std::string_view text, StringPairs& out) {
  boost::json::basic_parser<FlatHandler> parser(boost::json::parse_options{}, mode, out);
  error_code ec;
  const size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used < text.size()) return std::string("invalid JSON: extra data after the document");
  if (!ec) return std::nullopt;
  if (!parser.handler().error().empty()) return parser.handler().error();
  return "invalid JSON: " + ec.message();
}

}  // namespace

std::variant<StringPairs, std::string> parse_string_object(std::string_view text) {
  StringPairs pairs;
  if (auto err = run(FlatHandler::Mode::kStringObject, text, pairs)) return *err;
  return pairs;
}

std::optional<std::string> parse_json_object(std::string_view body, Params& out) {
  StringPairs pairs;
  if (auto err = run(FlatHandler::Mode::kBody, body, pairs)) return err;
  for (auto& [k, v] : pairs)
    out.add(std::move(k), std::move(v));
  return std::nullopt;
}

}  // namespace muster::http
