// plugins/shm: System V shared memory, semaphores and message queues, with
// their original ids; POSIX shared memory and named semaphores.
#include "attach.hpp"
#include "ipc_namespace.hpp"
#include "posix.hpp"
#include "queue.hpp"
#include "segment.hpp"
#include "semaphore.hpp"

#include <cpr/sdk/plugin.hpp>

namespace cpr::shm {

class ShmPlugin final : public sdk::Plugin {
public:
  std::string name() const override { return "shm"; }
  std::vector<std::unique_ptr<sdk::ProcessHandler>>
  process_handlers() const override {
    std::vector<std::unique_ptr<sdk::ProcessHandler>> out;
    out.push_back(std::make_unique<AttachHandler>());
    out.push_back(std::make_unique<SemUserHandler>());
    out.push_back(std::make_unique<QueueUserHandler>());
    return out;
  }
  std::vector<std::unique_ptr<sdk::SetHandler>> set_handlers() const override {
    std::vector<std::unique_ptr<sdk::SetHandler>> out;
    // First: its record puts the restart in the set's IPC namespace.
    out.push_back(std::make_unique<IpcNamespaceHandler>());
    out.push_back(std::make_unique<PosixShmHandler>());
    out.push_back(std::make_unique<SegmentHandler>());
    out.push_back(std::make_unique<SemaphoreHandler>());
    out.push_back(std::make_unique<QueueHandler>());
    return out;
  }
};

} // namespace cpr::shm

CPR_PLUGIN(cpr::shm::ShmPlugin)
