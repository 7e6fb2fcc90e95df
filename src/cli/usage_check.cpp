#include "cli/usage_check.h"

#include <charconv>

namespace muster::cli {
namespace {

bool is_number(const std::string& s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::optional<std::string> unknown_option(CLI::App& app, const std::vector<std::string>& args) {
  if (args.empty()) return std::nullopt;
  const auto subs =
      app.get_subcommands([&](const CLI::App* s) { return s->check_name(args.front()); });
  if (subs.empty()) return std::nullopt;  // CLI11 names an unknown subcommand itself
  const CLI::App* sub = subs.front();
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    if (a.size() < 2 || a.front() != '-' || is_number(a)) continue;
    const std::string name = a.substr(0, a.find('='));
    const CLI::Option* option = sub->get_option_no_throw(name);
    if (option == nullptr) option = app.get_option_no_throw(name);
    if (option == nullptr) {
      return "unknown option " + name + " for muster " + args.front() + " (see muster " +
             args.front() + " --help)";
    }
    // The next argument is this option's value, even when it starts with '-'.
    if (name.size() == a.size() && option->get_expected_min() > 0) ++i;
  }
  return std::nullopt;
}

}  // namespace muster::cli
