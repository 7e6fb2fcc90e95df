#include "sd/label_set.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <stdexcept>

namespace muster::sd {

// The one allocation: this header, `count` entries, then the names and values back to back.
struct LabelSet::Block {
  struct Entry {
    uint32_t offset;  // of the name in the text; the value follows it
    uint32_t name_size;
    uint32_t value_size;
  };
  std::atomic<uint32_t> refs;
  uint32_t count;

  Entry* entries() { return reinterpret_cast<Entry*>(this + 1); }
  const Entry* entries() const { return reinterpret_cast<const Entry*>(this + 1); }
  const char* text() const { return reinterpret_cast<const char*>(entries() + count); }
};

namespace {

void release(void* block, std::atomic<uint32_t>& refs) {
  if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) ::operator delete(block);
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Sorts by name; of equal names the later one stays.
void sort_unique(Pairs& labels) {
  std::stable_sort(labels.begin(), labels.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Pairs out;
  out.reserve(labels.size());
  for (auto& l : labels) {
    if (!out.empty() && out.back().first == l.first) {
      out.back().second = std::move(l.second);
    } else {
      out.push_back(std::move(l));
    }
  }
  labels = std::move(out);
}

}  // namespace

LabelSet::Block* LabelSet::make(Pairs& sorted_unique) {
  if (sorted_unique.empty()) return nullptr;
  size_t text = 0;
  for (const auto& [name, value] : sorted_unique)
    text += name.size() + value.size();
  if (text > UINT32_MAX || sorted_unique.size() > UINT32_MAX)
    throw std::length_error("label set too large");
  const size_t bytes = sizeof(Block) + sorted_unique.size() * sizeof(Block::Entry) + text;
  void* memory = ::operator new(bytes);
  auto* b = new (memory) Block{{1}, static_cast<uint32_t>(sorted_unique.size())};
  char* out = const_cast<char*>(b->text());
  uint32_t offset = 0;
  for (uint32_t i = 0; i < b->count; ++i) {
    const auto& [name, value] = sorted_unique[i];
    new (&b->entries()[i]) Block::Entry{offset, static_cast<uint32_t>(name.size()),
                                        static_cast<uint32_t>(value.size())};
    std::memcpy(out + offset, name.data(), name.size());
    std::memcpy(out + offset + name.size(), value.data(), value.size());
    offset += static_cast<uint32_t>(name.size() + value.size());
  }
  return b;
}

LabelSet::LabelSet(std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
  Pairs pairs;
  pairs.reserve(labels.size());
  for (const auto& [name, value] : labels)
    pairs.emplace_back(std::string(name), std::string(value));
  sort_unique(pairs);
  block_ = make(pairs);
}

LabelSet::LabelSet(Pairs labels) {
  sort_unique(labels);
  block_ = make(labels);
}

LabelSet::LabelSet(const LabelSet& other) : block_(other.block_) {
  if (block_) block_->refs.fetch_add(1, std::memory_order_relaxed);
}

LabelSet& LabelSet::operator=(const LabelSet& other) {
  if (this != &other) {
    LabelSet copy(other);
    std::swap(block_, copy.block_);
  }
  return *this;
}

LabelSet& LabelSet::operator=(LabelSet&& other) noexcept {
  if (this != &other) {
    if (block_) release(block_, block_->refs);
    block_ = std::exchange(other.block_, nullptr);
  }
  return *this;
}

LabelSet::~LabelSet() {
  if (block_) release(block_, block_->refs);
}

size_t LabelSet::size() const {
  return block_ ? block_->count : 0;
}

LabelSet::Label LabelSet::label(uint32_t index) const {
  const Block::Entry& e = block_->entries()[index];
  const char* text = block_->text() + e.offset;
  return {{text, e.name_size}, {text + e.name_size, e.value_size}};
}

LabelSet::iterator LabelSet::find(std::string_view name) const {
  uint32_t lo = 0, hi = static_cast<uint32_t>(size());
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    const std::string_view here = label(mid).first;
    if (here == name) return {this, mid};
    if (here < name) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return end();
}

std::string_view LabelSet::at(std::string_view name) const {
  auto it = find(name);
  if (it == end()) throw std::out_of_range("no label " + std::string(name));
  return it->second;
}

void LabelSet::set(std::string_view name, std::string_view value) {
  Pairs pairs;
  pairs.reserve(size() + 1);
  bool replaced = false;
  for (const auto& [n, v] : *this) {
    if (n == name) {
      pairs.emplace_back(std::string(n), std::string(value));
      replaced = true;
    } else {
      pairs.emplace_back(std::string(n), std::string(v));
    }
  }
  if (!replaced) {
    pairs.emplace_back(std::string(name), std::string(value));
    std::sort(pairs.begin(), pairs.end());
  }
  *this = LabelSet();
  block_ = make(pairs);
}

bool LabelSet::erase(std::string_view name) {
  if (!contains(name)) return false;
  Pairs pairs;
  for (const auto& [n, v] : *this)
    if (n != name) pairs.emplace_back(std::string(n), std::string(v));
  *this = LabelSet();
  block_ = make(pairs);
  return true;
}

bool LabelSet::operator==(const LabelSet& other) const {
  if (block_ == other.block_) return true;
  if (size() != other.size()) return false;
  for (uint32_t i = 0; i < size(); ++i) {
    const Label a = label(i), b = other.label(i);
    if (a.first != b.first || a.second != b.second) return false;
  }
  return true;
}

bool LabelSet::operator<(const LabelSet& other) const {
  const uint32_t n = static_cast<uint32_t>(std::min(size(), other.size()));
  for (uint32_t i = 0; i < n; ++i) {
    const Label a = label(i), b = other.label(i);
    if (a.first != b.first) return a.first < b.first;
    if (a.second != b.second) return a.second < b.second;
  }
  return size() < other.size();
}

size_t LabelSet::hash() const {
  size_t h = size();
  for (const auto& [name, value] : *this) {
    h = h * 1099511628211u ^ std::hash<std::string_view>{}(name);
    h = h * 1099511628211u ^ std::hash<std::string_view>{}(value);
  }
  return h;
}

LabelSet LabelSetPool::intern(LabelSet labels) {
  if (labels.empty()) return labels;
  auto [it, added] = seen_.insert(std::move(labels));
  return *it;
}

}  // namespace muster::sd
