// Every call the engine makes into a plugin goes through these references,
// while the plugin's library is loaded: whatever the plugin throws comes out
// as the engine's own Error, with the same words, so that nothing of the
// plugin (a class of its own, its type information) is left to unwind once
// its library is unloaded.
#pragma once

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/handler.hpp>

#include <string>
#include <utility>
#include <vector>

namespace cpr::engine {

// Runs `call` into the handler's plugin; rethrows what it threw as Error
// (IdTaken as IdTaken).
template <class Call>
decltype(auto) into_plugin(const sdk::Handler &h, Call &&call) {
  try {
    return std::forward<Call>(call)();
  } catch (const sdk::IdTaken &e) {
    throw sdk::IdTaken(e.what());
  } catch (const std::exception &e) {
    throw sdk::as_error(e); // a copy: code, errno and words
  } catch (...) {
    throw sdk::Error("other fatal failure: the handler of " + h.kind() +
                     " failed");
  }
}

class HandlerRef {
public:
  explicit HandlerRef(const sdk::Handler &h) : h_(&h) {}
  std::string kind() const { return h_->kind(); }
  unsigned version() const { return h_->version(); }
  void check(const sdk::Record &r, const sdk::RestoreContext &ctx) const {
    into_plugin(*h_, [&] { h_->check(r, ctx); });
  }

private:
  const sdk::Handler *h_;
};

class FdHandlerRef : public HandlerRef {
public:
  explicit FdHandlerRef(const sdk::FdHandler &h) : HandlerRef(h), h_(&h) {}
  bool claims(const sdk::OpenFile &f) const {
    return into_plugin(*h_, [&] { return h_->claims(f); });
  }
  sdk::Saved save(const sdk::OpenFile &f, sdk::SaveContext &ctx) const {
    return into_plugin(*h_, [&] { return h_->save(f, ctx); });
  }
  int open(const sdk::Record &r, sdk::RestoreContext &ctx) const {
    return into_plugin(*h_, [&] { return h_->open(r, ctx); });
  }
  bool open_before_fork() const {
    return into_plugin(*h_, [&] { return h_->open_before_fork(); });
  }
  void connect(const sdk::Record &r, int fd, sdk::RestoreContext &ctx) const {
    into_plugin(*h_, [&] { h_->connect(r, fd, ctx); });
  }

private:
  const sdk::FdHandler *h_;
};

class ProcessHandlerRef : public HandlerRef {
public:
  explicit ProcessHandlerRef(const sdk::ProcessHandler &h)
      : HandlerRef(h), h_(&h) {}
  bool per_address_space() const { return h_->per_address_space(); }
  sdk::Phase phase() const { return h_->phase(); }
  sdk::Saved save(sdk::Tracee &t, sdk::SaveContext &ctx) const {
    return into_plugin(*h_, [&] { return h_->save(t, ctx); });
  }
  void restore(sdk::Tracee &t, const sdk::Record &r,
               sdk::RestoreContext &ctx) const {
    into_plugin(*h_, [&] { h_->restore(t, r, ctx); });
  }

private:
  const sdk::ProcessHandler *h_;
};

class SetHandlerRef : public HandlerRef {
public:
  explicit SetHandlerRef(const sdk::SetHandler &h) : HandlerRef(h), h_(&h) {}
  std::vector<sdk::Saved> save(sdk::SaveContext &ctx) const {
    return into_plugin(*h_, [&] { return h_->save(ctx); });
  }
  void restore(const sdk::Record &r, sdk::RestoreContext &ctx) const {
    into_plugin(*h_, [&] { h_->restore(r, ctx); });
  }

private:
  const sdk::SetHandler *h_;
};

} // namespace cpr::engine
