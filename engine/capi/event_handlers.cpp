// atcheckpoint() and atrestart(): callbacks run first-in-first-out on
// SIGCKPT and SIGRESTART.
#include <ckpt.h>

#include <atomic>
#include <cerrno>
#include <csignal>

namespace {

constexpr int max_callbacks = 64;

struct CallbackList {
  void (*fns[max_callbacks])(void) = {};
  std::atomic<int> count{0};
  std::atomic_flag installing = ATOMIC_FLAG_INIT;
  bool installed = false;
};

CallbackList on_checkpoint, on_restart;

CallbackList &list_for(int sig) {
  return sig == SIGCKPT ? on_checkpoint : on_restart;
}

void run_callbacks(int sig, siginfo_t *, void *) {
  int saved_errno = errno;
  CallbackList &list = list_for(sig);
  int n = list.count.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i)
    list.fns[i]();
  errno = saved_errno;
}

// Each handler blocks the other signal: a SIGRESTART sent while SIGCKPT's
// callbacks run waits until they have returned, and the other way round.
int install(int sig, int other) {
  struct sigaction sa {};
  sa.sa_sigaction = run_callbacks;
  sa.sa_flags = SA_RESTART | SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, other);
  return sigaction(sig, &sa, nullptr);
}

int add(void (*func)(void), int sig, int other) {
  if (!func) {
    errno = EINVAL;
    return -1;
  }
  CallbackList &list = list_for(sig);
  while (list.installing.test_and_set(std::memory_order_acquire)) {
  }
  int rc = -1;
  int n = list.count.load(std::memory_order_relaxed);
  if (n == max_callbacks)
    errno = ENOMEM;
  else if (list.installed || install(sig, other) == 0) {
    list.installed = true;
    list.fns[n] = func;
    list.count.store(n + 1, std::memory_order_release);
    rc = 0;
  }
  list.installing.clear(std::memory_order_release);
  return rc;
}

} // namespace

extern "C" int atcheckpoint(void (*func)(void)) {
  return add(func, SIGCKPT, SIGRESTART);
}

extern "C" int atrestart(void (*func)(void)) {
  return add(func, SIGRESTART, SIGCKPT);
}
