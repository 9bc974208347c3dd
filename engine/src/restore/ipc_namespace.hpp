// A new IPC namespace for the set: where it had one of its own, and under
// FORK ANY when an id the set's System V objects need is held by another
// object. The restart makes the objects there, where every id is free, and
// the set lives there; cpr goes back to its own.
#pragma once

namespace cpr::engine {

class IpcNamespace {
public:
  IpcNamespace() = default;
  IpcNamespace(const IpcNamespace &) = delete;
  IpcNamespace &operator=(const IpcNamespace &) = delete;
  // cpr moves into a new IPC namespace, which every process it makes from
  // now on inherits.
  void enter_new();
  bool is_new() const { return own_ >= 0; }
  // cpr's own namespace again.
  ~IpcNamespace();

private:
  int own_ = -1; // cpr's own namespace, while it is in a new one
};

} // namespace cpr::engine
