#include "sd/groups_json_reader.h"

#include <boost/json/basic_parser_impl.hpp>
#include <vector>

#include "common/ascii_case.h"

namespace muster::sd {

namespace json = boost::json;
using boost::system::error_code;

// The SAX handler: a stack of where the parser is, the group being read, and the first problem.
struct GroupsJsonReader::Handler {
  static constexpr std::size_t max_array_size = -1;
  static constexpr std::size_t max_object_size = -1;
  static constexpr std::size_t max_string_size = -1;
  static constexpr std::size_t max_key_size = -1;

  enum class Where { top, group_list, group, targets, labels };
  enum class Field { none, targets, labels };

  std::vector<Where> stack{Where::top};
  Field field = Field::none;  // the key just read in a group
  std::string key;            // a key, or a label name, read in parts
  std::string text;           // a string value read in parts
  std::string label;          // the label whose value comes next
  TargetGroup group;
  std::vector<std::pair<std::string, std::string>> labels;  // of `group`, until its end
  LabelSetPool pool;                                        // groups with equal labels share them
  Groups groups;
  std::string problem;

  bool fail(std::string why, error_code& ec) {
    problem = std::move(why);
    ec = std::make_error_code(std::errc::invalid_argument);
    return false;
  }

  std::string targets_problem() const { return "\"targets\" must be a list of strings"; }

  // A value of kind `type` (and text `s` for strings) where the parser stands.
  bool value(std::string_view type, std::string_view s, error_code& ec) {
    const bool is_null = type == "null", is_string = type == "string";
    switch (stack.back()) {
      case Where::top:
        if (is_null) return true;  // a document of null is zero groups
        return fail("the document must be a list of target groups, not " + std::string(type), ec);
      case Where::group_list:
        if (is_null) return fail("nil target group item found", ec);
        return fail("a target group must be an object, not " + std::string(type), ec);
      case Where::group:
        if (is_null) return true;  // "targets": null and "labels": null are left out
        if (field == Field::targets) return fail(targets_problem(), ec);
        return fail("\"labels\" must be an object of strings", ec);
      case Where::targets:
        if (!is_string) return fail(targets_problem(), ec);
        group.targets.push_back({{"__address__", std::string(s)}});
        return true;
      case Where::labels:
        if (!is_string)
          return fail("label \"" + label + "\" must be a string, not " + std::string(type), ec);
        labels.emplace_back(label, std::string(s));
        return true;
    }
    return true;
  }

  bool container_begin(bool is_array, error_code& ec) {
    const std::string_view type = is_array ? "array" : "object";
    switch (stack.back()) {
      case Where::top:
        if (!is_array) return value(type, {}, ec);
        stack.push_back(Where::group_list);
        return true;
      case Where::group_list:
        if (is_array) return value(type, {}, ec);
        group = TargetGroup{};
        labels.clear();
        stack.push_back(Where::group);
        return true;
      case Where::group:
        if (field == Field::targets && is_array) {
          group.targets.clear();  // a repeated key: the last one counts, as in Go
          stack.push_back(Where::targets);
          return true;
        }
        if (field == Field::labels && !is_array) {
          stack.push_back(Where::labels);
          return true;
        }
        return value(type, {}, ec);
      case Where::targets:
      case Where::labels:
        return value(type, {}, ec);
    }
    return true;
  }

  bool container_end() {
    const Where left = stack.back();
    stack.pop_back();
    if (left == Where::group) {
      group.labels = pool.intern(LabelSet(std::move(labels)));
      labels = {};
      groups.push_back(std::move(group));
    }
    return true;
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code& ec) { return container_begin(true, ec); }
  bool on_array_end(std::size_t, error_code&) { return container_end(); }
  bool on_object_begin(error_code& ec) { return container_begin(false, ec); }
  bool on_object_end(std::size_t, error_code&) { return container_end(); }
  bool on_string_part(json::string_view s, std::size_t, error_code&) {
    text.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, error_code& ec) {
    text.append(s.data(), s.size());
    const bool ok = value("string", text, ec);
    text.clear();
    return ok;
  }
  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, error_code& ec) {
    key.append(s.data(), s.size());
    const bool ok = take_key(ec);
    key.clear();
    return ok;
  }
  bool take_key(error_code& ec) {
    if (stack.back() == Where::labels) {
      if (!valid_label_name(key)) return fail("\"" + key + "\" is not a valid label name", ec);
      label = key;
      return true;
    }
    if (equal_without_case(key, "targets")) {
      field = Field::targets;
    } else if (equal_without_case(key, "labels")) {
      field = Field::labels;
    } else {
      return fail("unknown field \"" + key + "\"", ec);
    }
    return true;
  }
  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(int64_t, json::string_view, error_code& ec) { return value("number", {}, ec); }
  bool on_uint64(uint64_t, json::string_view, error_code& ec) { return value("number", {}, ec); }
  bool on_double(double, json::string_view, error_code& ec) { return value("number", {}, ec); }
  bool on_bool(bool, error_code& ec) { return value("bool", {}, ec); }
  bool on_null(error_code& ec) { return value("null", {}, ec); }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }
};

GroupsJsonReader::GroupsJsonReader()
    : parser_(std::make_unique<json::basic_parser<Handler>>(json::parse_options{})) {}

GroupsJsonReader::~GroupsJsonReader() = default;

bool GroupsJsonReader::write(std::string_view piece) {
  if (!problem_.empty()) return false;
  error_code ec;
  parser_->write_some(true, piece.data(), piece.size(), ec);
  if (!ec) return true;
  problem_ = parser_->handler().problem.empty() ? "invalid JSON: " + ec.message()
                                                : parser_->handler().problem;
  return false;
}

ParsedGroups GroupsJsonReader::finish() {
  if (!problem_.empty()) return problem_;
  error_code ec;
  parser_->write_some(false, nullptr, 0, ec);
  if (ec) {
    const std::string& problem = parser_->handler().problem;
    return problem.empty() ? "invalid JSON: " + ec.message() : problem;
  }
  return std::move(parser_->handler().groups);
}

}  // namespace muster::sd
