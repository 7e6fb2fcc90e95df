#pragma once
// A set of labels (name -> value, sorted by name), Prometheus's labels.Labels, held in one
// allocation and shared by copies: a copy costs a reference count, not the strings. With a source
// of 1,000,000 groups most label sets are equal (a group's labels and the provider's own
// `__meta_*`), and LabelSetPool makes equal sets one allocation.
// Names and values are views into the set's allocation: valid while the set, or a copy of it,
// lives (take a std::string of a label of a temporary group).
// Threading: a LabelSet is immutable once shared (set() and erase() copy first if it is shared);
// copies may be read and dropped from any thread (the count is atomic).
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace muster::sd {

class LabelSet {
 public:
  // One label; `first` and `second` as in the map this replaces, so `auto [name, value]` reads.
  struct Label {
    std::string_view first;   // name
    std::string_view second;  // value
  };

  class iterator {
   public:
    using value_type = Label;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    Label operator*() const { return set_->label(index_); }
    const Label* operator->() const {
      current_ = set_->label(index_);
      return &current_;
    }
    iterator& operator++() {
      ++index_;
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++index_;
      return before;
    }
    bool operator==(const iterator& o) const { return index_ == o.index_; }

   private:
    friend class LabelSet;
    iterator(const LabelSet* set, uint32_t index) : set_(set), index_(index) {}
    const LabelSet* set_ = nullptr;
    uint32_t index_ = 0;
    mutable Label current_;
  };
  using const_iterator = iterator;

  LabelSet() = default;
  LabelSet(std::initializer_list<std::pair<std::string_view, std::string_view>> labels);
  // From (name, value) pairs in any order; of two equal names the later counts.
  explicit LabelSet(std::vector<std::pair<std::string, std::string>> labels);
  LabelSet(const LabelSet& other);
  LabelSet(LabelSet&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  LabelSet& operator=(const LabelSet& other);
  LabelSet& operator=(LabelSet&& other) noexcept;
  ~LabelSet();

  size_t size() const;
  bool empty() const { return size() == 0; }
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, static_cast<uint32_t>(size())}; }
  iterator find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != end(); }
  // The value of `name`; throws std::out_of_range if there is none.
  std::string_view at(std::string_view name) const;

  // Sets or replaces one label (a new allocation: meant for building, not for hot paths).
  void set(std::string_view name, std::string_view value);
  // Removes `name` if present; true if it was.
  bool erase(std::string_view name);

  bool operator==(const LabelSet& other) const;
  bool operator<(const LabelSet& other) const;
  size_t hash() const;
  // The allocation: sets with the same identity are equal without comparing.
  const void* identity() const { return block_; }

 private:
  struct Block;
  friend class LabelSetPool;
  Label label(uint32_t index) const;
  static Block* make(std::vector<std::pair<std::string, std::string>>& sorted_unique);
  Block* block_ = nullptr;
};

// Makes equal label sets one allocation: each set given to intern() comes back sharing the block
// of the first equal set the pool saw. The pool keeps its sets alive until it is dropped, so it
// belongs to one read or one update, not to the process.
// Threading: one thread.
class LabelSetPool {
 public:
  LabelSet intern(LabelSet labels);
  size_t distinct() const { return seen_.size(); }

 private:
  struct Hash {
    size_t operator()(const LabelSet& l) const { return l.hash(); }
  };
  std::unordered_set<LabelSet, Hash> seen_;
};

}  // namespace muster::sd
