// plugins/files: regular files and the harmless devices.
#include "device.hpp"
#include "regular_file.hpp"

#include <cpr/sdk/plugin.hpp>

namespace cpr::files {

class FilesPlugin final : public sdk::Plugin {
public:
  std::string name() const override { return "files"; }
  std::vector<std::unique_ptr<sdk::FdHandler>> fd_handlers() const override {
    std::vector<std::unique_ptr<sdk::FdHandler>> out;
    out.push_back(std::make_unique<RegularFileHandler>());
    out.push_back(std::make_unique<DeviceHandler>());
    return out;
  }
};

} // namespace cpr::files

CPR_PLUGIN(cpr::files::FilesPlugin)
