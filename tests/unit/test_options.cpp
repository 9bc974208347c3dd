#include "options.hpp"

#include <catch2/catch.hpp>

using cpr::cli::Mode;
using cpr::cli::parse_options;
using cpr::cli::UsageError;
using cpr::engine::Will;

TEST_CASE("checkpoint options as the guide writes them") {
  auto o = parse_options({"-c", "ckptSep7", "-p", "1111"});
  CHECK(o.mode == Mode::checkpoint);
  CHECK(o.checkpoint.statefile == "ckptSep7");
  CHECK(o.checkpoint.ids.text() == "1111");
  // Neither -k nor -g: the attribute file's WILL decides, else EXIT.
  CHECK_FALSE(o.checkpoint.will.has_value());
  CHECK_FALSE(o.checkpoint.force);
  CHECK_FALSE(o.checkpoint.distribute);

  o = parse_options({"-c", "ckptSep8", "-p", "1113,1225", "-f", "-g"});
  CHECK(o.checkpoint.ids.text() == "1113,1225");
  CHECK(o.checkpoint.force);
  CHECK(o.checkpoint.will == Will::cont);

  o = parse_options({"-kf", "-cS", "-p123"});
  CHECK(o.checkpoint.statefile == "S");
  CHECK(o.checkpoint.ids.text() == "123");
  CHECK(o.checkpoint.will == Will::kill);
  CHECK(o.checkpoint.force);
}

TEST_CASE("the --distribute option goes with -c") {
  auto o = parse_options({"-c", "s", "-p", "1", "--distribute"});
  CHECK(o.checkpoint.distribute);
  CHECK_THROWS_AS(parse_options({"-r", "s", "--distribute"}), UsageError);
}

TEST_CASE("the --timeout option sets how long SIGCKPT handlers may take") {
  CHECK(parse_options({"-c", "s", "-p", "1"}).checkpoint.handler_timeout ==
        std::chrono::seconds(60));
  auto o = parse_options({"-c", "s", "-p", "1", "--timeout", "5"});
  CHECK(o.checkpoint.handler_timeout == std::chrono::seconds(5));
  CHECK_THROWS_AS(parse_options({"-c", "s", "-p", "1", "--timeout", "0"}),
                  UsageError);
  CHECK_THROWS_AS(parse_options({"-c", "s", "-p", "1", "--timeout", "2x"}),
                  UsageError);
  CHECK_THROWS_AS(parse_options({"-c", "s", "-p", "1", "--timeout"}),
                  UsageError);
  CHECK_THROWS_AS(parse_options({"-r", "s", "--timeout", "5"}), UsageError);
}

TEST_CASE("the --compress option takes an optional zstd level") {
  CHECK(parse_options({"-c", "s", "-p", "1"}).checkpoint.compress == 0);
  CHECK(
      parse_options({"-c", "s", "-p", "1", "--compress"}).checkpoint.compress ==
      1);
  CHECK(parse_options({"-c", "s", "-p", "1", "--compress=19"})
            .checkpoint.compress == 19);
  for (const char *bad : {"--compress=0", "--compress=20",
                          "--compress=", "--compress=fast", "--compress=-1"})
    CHECK_THROWS_AS(parse_options({"-c", "s", "-p", "1", bad}), UsageError);
  CHECK_THROWS_AS(parse_options({"-r", "s", "--compress"}), UsageError);
}

TEST_CASE("the --since option names the earlier statefile") {
  CHECK(parse_options({"-c", "s", "-p", "1", "--since", "old"})
            .checkpoint.since == "old");
  CHECK_THROWS_AS(parse_options({"-c", "s", "-p", "1", "--since"}), UsageError);
  CHECK_THROWS_AS(
      parse_options({"-c", "s", "-p", "1", "--since", "a", "--since", "b"}),
      UsageError);
  CHECK_THROWS_AS(parse_options({"-r", "s", "--since", "old"}), UsageError);
}

TEST_CASE("restart, query and delete take several statefiles") {
  auto o = parse_options({"-r", "a", "b"});
  CHECK(o.mode == Mode::restart);
  CHECK(o.statefiles == std::vector<std::string>{"a", "b"});
  CHECK(parse_options({"-r", "a"}).fork == cpr::engine::Fork::original);
  CHECK(parse_options({"-r", "--fork-any", "a"}).fork ==
        cpr::engine::Fork::any);
  CHECK_THROWS_AS(parse_options({"-i", "--fork-any", "a"}), UsageError);
  CHECK(parse_options({"-i", "a"}).mode == Mode::info);
  CHECK(parse_options({"-D", "a", "b", "c"}).statefiles.size() == 3);
  CHECK(parse_options({}).mode == Mode::help);
  CHECK(parse_options({"--version"}).mode == Mode::version);
}

TEST_CASE("option mistakes are usage errors") {
  CHECK_THROWS_AS(parse_options({"-c", "s"}), UsageError); // no -p
  CHECK_THROWS_AS(parse_options({"-c", "s", "-p", "1", "-k", "-g"}),
                  UsageError);                        // -k -g
  CHECK_THROWS_AS(parse_options({"-r"}), UsageError); // no file
  CHECK_THROWS_AS(parse_options({"-r", "s", "-i", "t"}), UsageError);
  CHECK_THROWS_AS(parse_options({"-r", "s", "-g"}), UsageError);
  CHECK_THROWS_AS(parse_options({"-x"}), UsageError);
  CHECK_THROWS_AS(parse_options({"-c"}), UsageError);
  CHECK_THROWS_AS(parse_options({"stray"}), UsageError);
}
