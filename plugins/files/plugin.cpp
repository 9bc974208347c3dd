// plugins/files: every kind of open file, and the locks held on them.
#include "controlling_terminal.hpp"
#include "deleted_file.hpp"
#include "device.hpp"
#include "directory.hpp"
#include "epoll.hpp"
#include "eventfd.hpp"
#include "inotify.hpp"
#include "locks.hpp"
#include "memfd.hpp"
#include "proc_file.hpp"
#include "pty.hpp"
#include "regular_file.hpp"
#include "signalfd.hpp"
#include "terminal.hpp"
#include "timerfd.hpp"

#include <cpr/sdk/plugin.hpp>

namespace cpr::files {

class FilesPlugin final : public sdk::Plugin {
public:
  std::string name() const override { return "files"; }
  std::vector<std::unique_ptr<sdk::FdHandler>> fd_handlers() const override {
    std::vector<std::unique_ptr<sdk::FdHandler>> out;
    out.push_back(std::make_unique<MemFdHandler>());
    out.push_back(std::make_unique<ProcFileHandler>());
    out.push_back(std::make_unique<RegularFileHandler>());
    out.push_back(std::make_unique<DeviceHandler>());
    out.push_back(std::make_unique<TerminalHandler>());
    out.push_back(std::make_unique<PtyMasterHandler>());
    out.push_back(std::make_unique<EventFdHandler>());
    out.push_back(std::make_unique<TimerFdHandler>());
    out.push_back(std::make_unique<SignalFdHandler>());
    out.push_back(std::make_unique<InotifyHandler>());
    out.push_back(std::make_unique<EpollHandler>());
    out.push_back(std::make_unique<DirectoryHandler>());
    out.push_back(std::make_unique<DeletedFileHandler>());
    return out;
  }
  std::vector<std::unique_ptr<sdk::ProcessHandler>>
  process_handlers() const override {
    std::vector<std::unique_ptr<sdk::ProcessHandler>> out;
    out.push_back(std::make_unique<LocksHandler>());
    out.push_back(std::make_unique<ProcOffsetsHandler>());
    return out;
  }
  std::vector<std::unique_ptr<sdk::SetHandler>> set_handlers() const override {
    std::vector<std::unique_ptr<sdk::SetHandler>> out;
    out.push_back(std::make_unique<ControllingTerminalHandler>());
    return out;
  }
};

} // namespace cpr::files

CPR_PLUGIN(cpr::files::FilesPlugin)
