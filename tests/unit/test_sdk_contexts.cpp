#include "api_errors.hpp"
#include "statefile/statefile.hpp"

#include <ckpt.h>
#include <cpr/sdk/error.hpp>
#include <cpr/sdk/options.hpp>
#include <cpr/sdk/session.hpp>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

using namespace cpr;

TEST_CASE("Options: named, unknown names read as unset") {
  sdk::Options o;
  o.set_flag("pipes.outside", true);
  o.set_number("files.job_terminal_fd", 12);
  o.set("x.word", "REPLACE");
  CHECK(o.flag("pipes.outside"));
  CHECK_FALSE(o.flag("shm.all_of_owner"));
  CHECK(o.number("files.job_terminal_fd", -1) == 12);
  CHECK(o.number("x.word", -1) == -1); // not a number
  CHECK(o.number("nobody.knows", 7) == 7);
  CHECK(o.get("x.word") == "REPLACE");
  CHECK_FALSE(o.get("nobody.knows"));
  o.set_flag("pipes.outside", false);
  CHECK_FALSE(o.get("pipes.outside"));
}

namespace {
std::vector<std::string> events;

struct Counted : sdk::Session {
  int uses = 0;
  void restart_over(bool succeeded) override {
    events.push_back(succeeded ? "over ok" : "over failed");
  }
  ~Counted() override { events.push_back("gone"); }
};
} // namespace

TEST_CASE("Sessions: one per kind, made on first use, over then dropped") {
  events.clear();
  {
    sdk::Sessions sessions;
    sessions.of<Counted>("a.kind").uses++;
    sessions.of<Counted>("a.kind").uses++;
    CHECK(sessions.of<Counted>("a.kind").uses == 2);
    CHECK(sessions.of<Counted>("b.kind").uses == 0);
    sessions.restart_over(false);
    CHECK(events == std::vector<std::string>{"over failed", "over failed",
                                             "gone", "gone"});
    // A restart begun again starts with new sessions.
    CHECK(sessions.of<Counted>("a.kind").uses == 0);
  }
  CHECK(events.back() == "gone"); // with the run
  CHECK(events.size() == 5);
}

TEST_CASE("The C API's errno comes from an error's code, not its words") {
  using api::errno_for;
  CHECK(errno_for(sdk::Error(sdk::Code::busy, "Resource busy: x")) == EBUSY);
  CHECK(errno_for(sdk::Error(sdk::Code::unavailable_pid,
                             "unavailable PID: 5 is in use")) == EBUSY);
  CHECK(errno_for(sdk::Error(ESRCH, "No such process: 5")) == ESRCH);
  // Words of another failure inside the message change nothing.
  CHECK(errno_for(sdk::Error(sdk::Code::checkpoint_error,
                             "Checkpoint error: fd 3: Permission denied")) ==
        ECKPT);
  CHECK(errno_for(sdk::Error("No such process, says the message")) == ECKPT);
  try {
    sdk::throw_errno("cannot open /x", EACCES);
  } catch (const sdk::Error &e) {
    CHECK(errno_for(e) == EACCES);
    CHECK(std::string(e.what()) == "cannot open /x: Permission denied");
    sdk::Error wrapped = e.within("restart of process 5 failed: ");
    CHECK(errno_for(wrapped) == EACCES);
  }
  // A statefile that exists: EEXIST, as the README promises.
  char dir[] = "/tmp/cpr-unit-XXXXXX";
  REQUIRE(::mkdtemp(dir));
  try {
    engine::StatefileWriter writer(dir, false);
    FAIL("an existing directory was taken for a new statefile");
  } catch (const sdk::Error &e) {
    CHECK(errno_for(e) == EEXIST);
  }
  ::rmdir(dir);
  // Through the library itself.
  errno = 0;
  CHECK(ckpt_restart("/nonexistent/statefile", nullptr, 0) == -1);
  CHECK(errno == ENOENT);
  CHECK(std::string(ckpt_errmsg()).find("/nonexistent/statefile") !=
        std::string::npos);
}
