#include <cpr/sdk/options.hpp>
#include <cpr/sdk/session.hpp>

#include <catch2/catch.hpp>

#include <string>
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
