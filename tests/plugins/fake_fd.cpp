// Fd handlers that overlap on purpose: /dev/null is a character device that
// two of them claim, and the one of higher priority must get it even though
// the other comes first by kind.
#include "fake_fd_handler.hpp"

#include <cpr/sdk/plugin.hpp>

#include <sys/stat.h>

namespace {

using cpr::fake::RecordingFdHandler;
using cpr::sdk::OpenFile;

class FakeFdPlugin final : public cpr::sdk::Plugin {
public:
  std::string name() const override { return "fake_fd"; }
  std::vector<std::unique_ptr<cpr::sdk::FdHandler>>
  fd_handlers() const override {
    std::vector<std::unique_ptr<cpr::sdk::FdHandler>> out;
    out.push_back(std::make_unique<RecordingFdHandler>(
        "fake.chardev", 1, 0,
        [](const OpenFile &file) { return S_ISCHR(file.st.st_mode); }));
    out.push_back(std::make_unique<RecordingFdHandler>(
        "fake.devnull", 2, 10,
        [](const OpenFile &file) { return file.path == "/dev/null"; }));
    out.push_back(std::make_unique<RecordingFdHandler>(
        "fake.pipe", 1, 0,
        [](const OpenFile &file) { return S_ISFIFO(file.st.st_mode); }));
    return out;
  }
};

} // namespace

CPR_PLUGIN(FakeFdPlugin)
