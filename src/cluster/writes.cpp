#include "cluster/writes.h"

#include "cluster/replicator.h"

namespace muster::cluster {

Origin origin_of(bool replication, bool from_zone) {
  if (replication) return Origin::kPeer;
  return from_zone ? Origin::kOtherZone : Origin::kClient;
}

namespace {

// Whether to hand a write to replication, and with which from_zone flag.
bool replicated(Origin origin) {
  return origin != Origin::kPeer;
}
bool from_zone(Origin origin) {
  return origin == Origin::kOtherZone;
}

}  // namespace

registry::RegisterOutcome Writes::register_instance(registry::RegisterArgs args, Origin origin) {
  if (origin == Origin::kClient) {
    args.dirty_timestamp = 0;
    args.lease_age_ns.reset();  // a client's register is a renew (docs/decisions.md §5.7)
  }
  const auto outcome = replicator_ == nullptr || !replicated(origin)
                           ? registry_.register_instance(args)
                           : registry_.register_instance(args, [&](const registry::Instance& inst) {
                               replicator_->registered(inst, from_zone(origin));
                             });
  written();
  return outcome;
}

registry::RenewOutcome Writes::renew(
    const registry::InstanceKey& key, Origin origin, int64_t peer_dirty,
    std::optional<int64_t> lease_age,
    FunctionRef<void(registry::RenewOutcome, const registry::Instance&)> on_instance) {
  const std::optional<int64_t> dirty =
      origin == Origin::kPeer ? std::optional<int64_t>(peer_dirty) : std::nullopt;
  return registry_.renew(key, dirty, lease_age,
                         [&](registry::RenewOutcome outcome, const registry::Instance& inst) {
                           if (replicator_ != nullptr && replicated(origin))
                             replicator_->renewed(inst, from_zone(origin));
                           on_instance(outcome, inst);
                         });
}

bool Writes::cancel(const registry::InstanceKey& key, Origin origin,
                    std::optional<int64_t> if_not_newer_than) {
  if (!registry_.cancel(key, if_not_newer_than)) return false;
  written();
  if (replicator_ != nullptr && replicated(origin)) replicator_->cancelled(key, from_zone(origin));
  return true;
}

registry::SetOutcome Writes::set(registry::SetArgs args, Origin origin) {
  if (origin == Origin::kClient) args.set_timestamp = 0;
  auto outcome = registry_.set(args);
  written();
  if (outcome.error.empty() && replicator_ != nullptr && replicated(origin))
    replicator_->set(args, outcome.set_timestamp, from_zone(origin));
  return outcome;
}

}  // namespace muster::cluster
