#pragma once
// One provider's settings from a job of the configuration, whatever its mechanism. Each
// mechanism's settings struct lives with its provider (sd/providers/<name>_provider.h) and says
// what it is with two constants, `type` ("file": the name on /metrics and in the log) and
// `yaml_key` ("file_sd_configs"). sd/providers/all_providers.h lists every such struct; the
// configuration parser and make_provider() go through that list, so this type knows none of them.
// Two configs are equal when they are of the same mechanism with equal settings: a reload keeps
// the running provider of an unchanged config.
// Threading: an immutable value; copies share the settings.
#include <concepts>
#include <memory>
#include <string_view>

namespace muster::sd {

class ProviderConfig {
 public:
  // From any settings struct, so `FileConfig{...}` can stand where a ProviderConfig is expected.
  template <class Settings>
  requires requires {
    { Settings::type } -> std::convertible_to<std::string_view>;
  }
  ProviderConfig(Settings settings)  // NOLINT(google-explicit-constructor)
      : settings_(std::make_shared<const Held<Settings>>(std::move(settings))) {}

  std::string_view type() const { return settings_->type(); }
  // The settings when they are a `Settings`, else nullptr.
  template <class Settings>
  const Settings* get_if() const {
    const auto* held = dynamic_cast<const Held<Settings>*>(settings_.get());
    return held ? &held->value : nullptr;
  }
  bool operator==(const ProviderConfig& other) const {
    return settings_ == other.settings_ || settings_->equals(*other.settings_);
  }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual std::string_view type() const = 0;
    virtual bool equals(const Base& other) const = 0;
  };
  template <class Settings>
  struct Held : Base {
    explicit Held(Settings v) : value(std::move(v)) {}
    std::string_view type() const override { return Settings::type; }
    bool equals(const Base& other) const override {
      const auto* o = dynamic_cast<const Held*>(&other);
      return o && o->value == value;
    }
    Settings value;
  };
  std::shared_ptr<const Base> settings_;
};

}  // namespace muster::sd
