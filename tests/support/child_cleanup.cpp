// The e2e tests' listener: it leaves no process of one test case behind for
// the next.
// Outside the TU of Catch2's main, the listener base and the events it is
// given are declared only with this.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <iostream>
#include <unistd.h>

#include "support/harness.hpp"
#include "support/scenario.hpp"

namespace {

struct ChildCleanup : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseStarting(const Catch::TestCaseInfo &) override {
    cpr_test::become_subreaper();
    // In a session of their own without a terminal, as under CI, wherever
    // they are run from: a restarted target then stays in the session it
    // was checkpointed in (a terminal would be cut off: see
    // engine/src/restore/session_standins.hpp).
    ::setsid();
  }
  void testCaseEnded(const Catch::TestCaseStats &stats) override {
    cpr_test::kill_and_reap_children();
    auto notes = cpr_test::take_notes();
    if (stats.totals.assertions.allOk())
      return;
    std::cerr << "notes of '" << stats.testInfo.name << "':\n";
    for (const auto &text : notes)
      std::cerr << "  " << text << "\n";
  }
};

} // namespace

CATCH_REGISTER_LISTENER(ChildCleanup)
