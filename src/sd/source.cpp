#include "sd/source.h"

#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <utility>

namespace muster::sd {

// The one allocation of a name: a count of the sources that hold it, then the characters.
struct Source::Text {
  std::atomic<uint32_t> refs;
  uint32_t size;
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
};

Source::Source(std::string_view name) {
  if (name.empty()) return;
  if (name.size() > std::numeric_limits<uint32_t>::max())
    throw std::length_error("source name too long");
  void* memory = ::operator new(sizeof(Text) + name.size());
  text_ = new (memory) Text{{1}, static_cast<uint32_t>(name.size())};
  std::memcpy(const_cast<char*>(text_->data()), name.data(), name.size());
}

Source Source::group_of(const Source& document, size_t index) {
  if (index > std::numeric_limits<uint32_t>::max())
    throw std::length_error("group index too large");
  Source s(document);
  s.index_ = static_cast<uint32_t>(index);
  s.numbered_ = true;
  return s;
}

Source::Source(const Source& other)
    : text_(other.text_), index_(other.index_), numbered_(other.numbered_) {
  if (text_) text_->refs.fetch_add(1, std::memory_order_relaxed);
}

Source::Source(Source&& other) noexcept
    : text_(std::exchange(other.text_, nullptr)),
      index_(std::exchange(other.index_, 0)),
      numbered_(std::exchange(other.numbered_, false)) {}

Source& Source::operator=(const Source& other) {
  Source copy(other);
  std::swap(text_, copy.text_);
  index_ = other.index_;
  numbered_ = other.numbered_;
  return *this;
}

Source& Source::operator=(Source&& other) noexcept {
  if (this != &other) {
    Source gone(std::move(*this));
    text_ = std::exchange(other.text_, nullptr);
    index_ = std::exchange(other.index_, 0);
    numbered_ = std::exchange(other.numbered_, false);
  }
  return *this;
}

Source::~Source() {
  if (text_ && text_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) ::operator delete(text_);
}

std::string_view Source::name() const {
  return text_ ? std::string_view(text_->data(), text_->size) : std::string_view();
}

std::string Source::str() const {
  std::string out(name());
  if (numbered_) {
    if (!out.empty()) out += ':';
    out += std::to_string(index_);
  }
  return out;
}

bool Source::operator==(const Source& other) const {
  return numbered_ == other.numbered_ && index_ == other.index_ &&
         (text_ == other.text_ || name() == other.name());
}

std::strong_ordering Source::operator<=>(const Source& other) const {
  if (text_ != other.text_) {
    if (auto c = name().compare(other.name()); c != 0) return c <=> 0;
  }
  if (numbered_ != other.numbered_) return numbered_ <=> other.numbered_;
  return index_ <=> other.index_;
}

}  // namespace muster::sd
