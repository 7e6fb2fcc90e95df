#pragma once
// A compact list of strings in one allocation: each entry is a varint length then its bytes.
// An instance keeps its addrs and its metadata (key, value, key, value, ...) this way, which
// saves a heap block per string; the registry holds a million of them.
// Threading: a value type, no shared state.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

namespace muster::registry {

class StringList {
 public:
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string_view*;
    using reference = std::string_view;
    explicit Iterator(const char* p) : p_(p) {}
    std::string_view operator*() const {
      size_t len = 0;
      const char* d = decode(p_, len);
      return {d, len};
    }
    Iterator& operator++() {
      size_t len = 0;
      p_ = decode(p_, len) + len;
      return *this;
    }
    bool operator!=(const Iterator& o) const { return p_ != o.p_; }
    bool operator==(const Iterator& o) const { return p_ == o.p_; }

   private:
    const char* p_;
  };

  // The entries two by two, (key, value): how a list of pairs (an instance's metadata) is read.
  class PairIterator {
   public:
    explicit PairIterator(Iterator it) : it_(it) {}
    std::pair<std::string_view, std::string_view> operator*() const {
      Iterator value = it_;
      return {*it_, *++value};
    }
    PairIterator& operator++() {
      ++it_;
      ++it_;
      return *this;
    }
    bool operator!=(const PairIterator& o) const { return it_ != o.it_; }

   private:
    Iterator it_;
  };
  struct Pairs {
    PairIterator first, last;
    PairIterator begin() const { return first; }
    PairIterator end() const { return last; }
  };
  // Only for a list of an even number of entries.
  Pairs pairs() const { return {PairIterator(begin()), PairIterator(end())}; }

  void push_back(std::string_view s) {
    size_t n = s.size();
    while (n >= 0x80) {
      bytes_.push_back(static_cast<char>((n & 0x7f) | 0x80));
      n >>= 7;
    }
    bytes_.push_back(static_cast<char>(n));
    bytes_.append(s);
    ++count_;
  }
  Iterator begin() const { return Iterator(bytes_.data()); }
  Iterator end() const { return Iterator(bytes_.data() + bytes_.size()); }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  void clear() {
    bytes_.clear();
    count_ = 0;
  }
  void shrink_to_fit() { bytes_.shrink_to_fit(); }
  bool operator==(const StringList& o) const = default;

 private:
  static const char* decode(const char* p, size_t& len) {
    len = 0;
    int shift = 0;
    for (;;) {
      const auto b = static_cast<unsigned char>(*p++);
      len |= static_cast<size_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return p;
      shift += 7;
    }
  }
  std::string bytes_;
  uint32_t count_ = 0;
};

}  // namespace muster::registry
