#include <cpr/sdk/session.hpp>

namespace cpr::sdk {

Session::~Session() = default;
void Session::restart_over(bool) {}
void Session::checkpoint_over(bool) {}

Sessions::Sessions() = default;

// Latest first, as objects made in order are taken down.
Sessions::~Sessions() {
  while (!sessions_.empty())
    sessions_.pop_back();
}

void Sessions::restart_over(bool succeeded) {
  for (auto &[kind, s] : sessions_) {
    try {
      s->restart_over(succeeded);
    } catch (...) { // letting go cannot fail in a way that matters
    }
  }
  while (!sessions_.empty())
    sessions_.pop_back();
}

void Sessions::checkpoint_over(bool succeeded) {
  for (auto &[kind, s] : sessions_) {
    try {
      s->checkpoint_over(succeeded);
    } catch (...) { // the others must still put back what they changed
    }
  }
}

Session *Sessions::find(const std::string &kind) const {
  for (const auto &[k, s] : sessions_)
    if (k == kind)
      return s.get();
  return nullptr;
}

Session *Sessions::add(const std::string &kind, std::unique_ptr<Session> s) {
  sessions_.emplace_back(kind, std::move(s));
  return sessions_.back().second.get();
}

} // namespace cpr::sdk
