#include "sd/provider.h"

#include <optional>

#include "sd/providers/all_providers.h"

namespace muster::sd {

namespace {

template <class... Settings>
MadeProvider make_listed(ProviderList<Settings...>, const ProviderConfig& config,
                         ProviderContext& context) {
  std::optional<MadeProvider> made;
  // The one listed mechanism whose settings these are makes the provider.
  auto try_one = [&]<class S>(const S* settings) {
    if (settings && !made) made.emplace(make_provider(*settings, std::move(context)));
  };
  (try_one(config.get_if<Settings>()), ...);
  if (!made) return "no provider is registered for \"" + std::string(config.type()) + "\"";
  return std::move(*made);
}

}  // namespace

MadeProvider make_provider(const ProviderConfig& config, ProviderContext context) {
  return make_listed(AllProviders{}, config, context);
}

}  // namespace muster::sd
