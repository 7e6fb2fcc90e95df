#include "checks/check_writes.h"

#include <algorithm>

namespace muster::checks {

void visit_agent_instances(
    const registry::Registry& registry, std::string_view zone, std::string_view env,
    FunctionRef<bool(const registry::App&, const std::string& hostname, const registry::Instance&)>
        fn) {
  bool more = true;
  for (const auto& [appid, app_env] : registry.unleased_app_names()) {
    if (!more) return;
    if (!env.empty() && app_env != env) continue;
    registry.read_app(app_env, appid, [&](const registry::App& app) {
      const auto z = app.zones.find(zone);
      if (z == app.zones.end()) return;
      for (const auto& [host, inst] : z->second.instances)
        if (!inst.lease && !(more = fn(app, host, inst))) return;
    });
  }
}

UpdateResult CheckWrites::update(const cluster::InstanceId& id, std::string_view check_id,
                                 Status status, std::string_view output, bool ttl_reset) {
  std::lock_guard lock(mu_);
  std::vector<Check> list;
  if (!registry_.read_instance(id.view(),
                               [&](const registry::Instance& inst) { list = checks_of(inst); })) {
    return UpdateResult::kNotFound;
  }
  const auto c =
      std::find_if(list.begin(), list.end(), [&](const Check& x) { return x.id == check_id; });
  if (c == list.end()) return UpdateResult::kNotFound;
  const int64_t now_ms = clock_.wall_ns() / 1'000'000;
  const bool changed = checks::update(*c, status, output, now_ms);
  const bool one_ttl = std::count_if(list.begin(), list.end(),
                                     [](const Check& x) { return x.type == Type::kTtl; }) == 1;
  if (!changed && (!ttl_reset || one_ttl)) {
    // Nothing to show: a TTL update restarts the timer by a renew (the runner reads the
    // instance's renew time as the TTL reset of its one TTL check).
    if (ttl_reset) {
      writes_.renew(id.view(), cluster::Origin::kClient, 0, std::nullopt,
                    [](registry::RenewOutcome, const registry::Instance&) {});
    }
    return UpdateResult::kUnchanged;
  }
  c->reset_ms = now_ms;  // the last write of its state (and the TTL timer's start)
  return write(id, list) ? UpdateResult::kChanged : UpdateResult::kNotFound;
}

bool CheckWrites::write(const cluster::InstanceId& id, const std::vector<Check>& list) {
  registry::SetArgs args;
  args.zone = id.zone;
  args.env = id.env;
  args.appid = id.appid;
  args.hostnames = {id.hostname};
  args.statuses = {instance_status(list)};
  args.metadatas = {{{std::string(kChecksKey), check_list_json(list)}}};
  return writes_.set(std::move(args), cluster::Origin::kClient).error.empty();
}

std::optional<std::string> CheckWrites::put(const cluster::InstanceId& id, Check check) {
  std::lock_guard lock(mu_);
  std::vector<Check> list;
  size_t other_bytes = 0;
  if (!registry_.read_instance(id.view(), [&](const registry::Instance& inst) {
        list = checks_of(inst);
        for (const auto [k, v] : inst.metadata.pairs())
          if (k != kChecksKey) other_bytes += k.size() + v.size();
      })) {
    return std::nullopt;
  }
  const auto same =
      std::find_if(list.begin(), list.end(), [&](const Check& c) { return c.id == check.id; });
  if (same != list.end()) {
    std::vector<Check> one{std::move(check)};
    keep_state(list, one);
    *same = std::move(one.front());
  } else if (list.size() >= kMaxChecks) {
    return "Invalid check: at most " + std::to_string(kMaxChecks) + " checks per service";
  } else {
    list.push_back(std::move(check));
  }
  if (other_bytes + reserved_bytes(list) > kMaxMetadataBytes)
    return std::string("Invalid check: the checks, Meta and Tags need over 8192 bytes together");
  return write(id, list) ? std::optional<std::string>("") : std::nullopt;
}

bool CheckWrites::remove(const cluster::InstanceId& id, std::string_view check_id) {
  std::lock_guard lock(mu_);
  std::vector<Check> list;
  registry_.read_instance(id.view(),
                          [&](const registry::Instance& inst) { list = checks_of(inst); });
  const auto gone = std::erase_if(list, [&](const Check& c) { return c.id == check_id; });
  return gone > 0 && write(id, list);
}

bool CheckWrites::deregister(const cluster::InstanceId& id) {
  std::lock_guard lock(mu_);
  return writes_.cancel(id.view(), cluster::Origin::kClient);
}

}  // namespace muster::checks
