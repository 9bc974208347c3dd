// A plugin built for another SDK ABI than this cpr's: its exports are
// written out by hand (CPR_PLUGIN always exports the SDK's own number).
#include <cpr/sdk/plugin.hpp>

namespace {

class WrongAbiPlugin final : public cpr::sdk::Plugin {
public:
  std::string name() const override { return "fake_wrong_abi"; }
};

} // namespace

namespace cpr_plugin_exports {
inline unsigned abi() { return ::cpr::sdk::abi_version + 1; }
inline std::unique_ptr<::cpr::sdk::Plugin> create() {
  return std::make_unique<WrongAbiPlugin>();
}
} // namespace cpr_plugin_exports
BOOST_DLL_ALIAS(cpr_plugin_exports::abi, cpr_plugin_abi)
BOOST_DLL_ALIAS(cpr_plugin_exports::create, cpr_plugin_create)
