#pragma once
// The targets of a group, a vector of label sets in 16 bytes: most groups of a large source have
// exactly one target, held inline; more go to one heap array. (Boost's small_vector of one
// takes 32 bytes; with 1,000,000 groups the difference is 16 MB.)
// Threading: a plain value.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "sd/label_set.h"

namespace muster::sd {

class Targets {
 public:
  Targets() { new (&one_) LabelSet(); }
  Targets(std::initializer_list<LabelSet> sets);
  Targets(const Targets& other);
  Targets(Targets&& other) noexcept;
  Targets& operator=(const Targets& other);
  Targets& operator=(Targets&& other) noexcept;
  ~Targets() { destroy(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  LabelSet* begin() { return data(); }
  LabelSet* end() { return data() + size_; }
  const LabelSet* begin() const { return data(); }
  const LabelSet* end() const { return data() + size_; }
  LabelSet& operator[](size_t i) { return data()[i]; }
  const LabelSet& operator[](size_t i) const { return data()[i]; }
  // Throws std::out_of_range past the end.
  const LabelSet& at(size_t i) const;

  void push_back(LabelSet set);
  template <class... Args>
  LabelSet& emplace_back(Args&&... args) {
    push_back(LabelSet(std::forward<Args>(args)...));
    return data()[size_ - 1];
  }
  void reserve(size_t n);
  void clear();

  bool operator==(const Targets& other) const;

 private:
  bool inline_() const { return capacity_ == 1; }
  LabelSet* data() { return inline_() ? &one_ : many_; }
  const LabelSet* data() const { return inline_() ? &one_ : many_; }
  void grow(size_t capacity);
  void destroy();

  union {
    LabelSet one_;    // capacity_ == 1: the target, if size_ == 1 (else an empty set)
    LabelSet* many_;  // capacity_ > 1: a heap array, its first size_ constructed
  };
  uint32_t size_ = 0;
  uint32_t capacity_ = 1;
};

}  // namespace muster::sd
