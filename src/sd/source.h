#pragma once
// The name of a target group within its provider (Prometheus's tg.Source): the manager merges a
// provider's updates by it. Most are group i of a document ("<path>:<i>", "<url>:<i>"): the
// document's name is one allocation shared by all its groups and the number is held inline, so a
// 1,000,000-group source costs no string per group. Ordered by name, then number: a document's
// groups keep the document's order (file:2 before file:10).
// Threading: immutable once made; copies may be read and dropped from any thread.
#include <atomic>
#include <compare>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace muster::sd {

class Source {
 public:
  Source() = default;
  // A whole name: a service ("web"), a DNS name.
  Source(std::string_view name);  // NOLINT(google-explicit-constructor): sources read as text
  Source(const std::string& name) : Source(std::string_view(name)) {}  // NOLINT
  Source(const char* name) : Source(std::string_view(name)) {}         // NOLINT
  // Group `index` of `document`: "<document>:<index>", or "<index>" if the document is unnamed.
  static Source group_of(const Source& document, size_t index);

  Source(const Source& other);
  Source(Source&& other) noexcept;
  Source& operator=(const Source& other);
  Source& operator=(Source&& other) noexcept;
  ~Source();

  // The document's name (or the whole name).
  std::string_view name() const;
  // As text, for messages: "web", "/etc/sd/a.json:3", "3".
  std::string str() const;

  bool operator==(const Source& other) const;
  std::strong_ordering operator<=>(const Source& other) const;
  // Compared as text (tests and lookups by a name written out).
  bool operator==(std::string_view text) const { return str() == text; }
  bool operator==(const std::string& text) const { return str() == text; }
  bool operator==(const char* text) const { return str() == text; }

 private:
  struct Text;
  Text* text_ = nullptr;
  uint32_t index_ = 0;
  bool numbered_ = false;
};

inline std::ostream& operator<<(std::ostream& out, const Source& s) {
  return out << s.str();
}

}  // namespace muster::sd
