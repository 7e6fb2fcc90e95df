#include "registry/tombstones.h"

namespace muster::registry {

Tombstones::Key Tombstones::key(std::string_view appid, std::string_view env) {
  Key k;
  k.reserve(appid.size() + 4 + env.size());
  k.append(appid);
  const auto n = static_cast<uint32_t>(appid.size());
  for (int shift = 0; shift < 32; shift += 8)
    k.push_back(static_cast<char>((n >> shift) & 0xff));
  k.append(env);
  return k;
}

size_t Tombstones::cost(const Key& k) {
  // The key's bytes plus what a hash node, a list node and a heap string cost beside them.
  constexpr size_t kOverhead = 128;
  return k.size() + kOverhead;
}

void Tombstones::erase(std::unordered_map<Key, Entry>::iterator it) {
  bytes_ -= cost(it->first);
  order_.erase(it->second.order);
  entries_.erase(it);
}

void Tombstones::add(std::string_view appid, std::string_view env, int64_t latest, int64_t mono,
                     uint64_t index) {
  Key k = key(appid, env);
  if (auto it = entries_.find(k); it != entries_.end()) erase(it);
  const size_t c = cost(k);
  auto [it, inserted] = entries_.emplace(std::move(k), Entry{latest, mono, index, {}});
  it->second.order = order_.insert(order_.end(), &it->first);
  bytes_ += c;
  while (!order_.empty() && (entries_.size() > max_count_ || bytes_ > max_bytes_)) {
    erase(entries_.find(*order_.front()));
    ++dropped_;
  }
}

std::optional<int64_t> Tombstones::take(std::string_view appid, std::string_view env) {
  const auto it = entries_.find(key(appid, env));
  if (it == entries_.end()) return std::nullopt;
  const int64_t latest = it->second.latest;
  erase(it);
  return latest;
}

std::optional<int64_t> Tombstones::find(std::string_view appid, std::string_view env) const {
  const auto it = entries_.find(key(appid, env));
  if (it == entries_.end()) return std::nullopt;
  return it->second.latest;
}

std::optional<uint64_t> Tombstones::index(std::string_view appid, std::string_view env) const {
  const auto it = entries_.find(key(appid, env));
  if (it == entries_.end()) return std::nullopt;
  return it->second.index;
}

void Tombstones::expire_before(int64_t mono) {
  while (!order_.empty()) {
    const auto it = entries_.find(*order_.front());
    if (it->second.deleted_mono >= mono) break;
    erase(it);
  }
}

}  // namespace muster::registry
