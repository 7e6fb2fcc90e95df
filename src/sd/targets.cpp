#include "sd/targets.h"

#include <algorithm>
#include <limits>
#include <new>
#include <stdexcept>

namespace muster::sd {

Targets::Targets(std::initializer_list<LabelSet> sets) : Targets() {
  reserve(sets.size());
  for (const LabelSet& s : sets)
    push_back(s);
}

Targets::Targets(const Targets& other) : Targets() {
  reserve(other.size_);
  for (const LabelSet& s : other)
    push_back(s);
}

Targets::Targets(Targets&& other) noexcept : size_(other.size_), capacity_(other.capacity_) {
  if (other.inline_()) {
    new (&one_) LabelSet(std::move(other.one_));
  } else {
    many_ = other.many_;
    other.capacity_ = 1;
    new (&other.one_) LabelSet();
  }
  other.size_ = 0;
}

Targets& Targets::operator=(const Targets& other) {
  if (this != &other) *this = Targets(other);
  return *this;
}

Targets& Targets::operator=(Targets&& other) noexcept {
  if (this != &other) {
    destroy();
    new (this) Targets(std::move(other));
  }
  return *this;
}

const LabelSet& Targets::at(size_t i) const {
  if (i >= size_) throw std::out_of_range("no target " + std::to_string(i));
  return data()[i];
}

void Targets::push_back(LabelSet set) {
  if (size_ == capacity_) grow(std::max<size_t>(2, size_t{capacity_} * 2));
  if (inline_()) {
    one_ = std::move(set);
  } else {
    new (&many_[size_]) LabelSet(std::move(set));
  }
  ++size_;
}

void Targets::reserve(size_t n) {
  if (n > capacity_) grow(n);
}

void Targets::grow(size_t capacity) {
  if (capacity > std::numeric_limits<uint32_t>::max()) throw std::length_error("too many targets");
  auto* grown = static_cast<LabelSet*>(::operator new(capacity * sizeof(LabelSet)));
  LabelSet* old = data();
  for (uint32_t i = 0; i < size_; ++i)
    new (&grown[i]) LabelSet(std::move(old[i]));
  const uint32_t size = size_;
  destroy();
  many_ = grown;
  size_ = size;
  capacity_ = static_cast<uint32_t>(capacity);
}

void Targets::clear() {
  destroy();
  new (&one_) LabelSet();
  size_ = 0;
  capacity_ = 1;
}

void Targets::destroy() {
  if (inline_()) {
    one_.~LabelSet();
    return;
  }
  for (uint32_t i = 0; i < size_; ++i)
    many_[i].~LabelSet();
  ::operator delete(many_);
}

bool Targets::operator==(const Targets& other) const {
  return std::equal(begin(), end(), other.begin(), other.end());
}

}  // namespace muster::sd
