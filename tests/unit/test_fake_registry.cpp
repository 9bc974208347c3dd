// The registry with the fake plugins of tests/plugins alone: handlers by
// kind and role, claims by priority, and the plugins it refuses.
#include "fake_plugins.hpp"

#include <cpr/sdk/abi.hpp>
#include <cpr/sdk/error.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

using namespace cpr;
using cpr::test::fake_plugin;
using cpr::test::load_fake_plugins;

namespace {

std::vector<std::string> kinds_of(const auto &handlers) {
  std::vector<std::string> kinds;
  for (const auto &h : handlers)
    kinds.push_back(h.kind());
  return kinds;
}

// The kind of the handler that claims an fd of ours, or "" if none does.
std::string claimant(const engine::Registry &registry, int fd) {
  auto handler = registry.fd_handler_for(test::own_open_file(fd));
  return handler ? handler->kind() : "";
}

// What the registry throws when it loads the plugin, or "" if it loads it.
std::string refusal(engine::Registry &registry, const std::string &name) {
  try {
    registry.load_library(fake_plugin(name));
  } catch (const sdk::Error &e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("the fake plugins give each of their handlers by kind, in its role") {
  engine::Registry r = load_fake_plugins({"fd", "roles"});
  CHECK(r.plugin_names() == std::vector<std::string>{"fake_fd", "fake_roles"});
  CHECK(r.fd_handler("fake.devnull", 2).version() == 2);
  CHECK(r.fd_handler("fake.pipe", 1).kind() == "fake.pipe");
  CHECK(r.process_handler("fake.memory_map", 1).kind() == "fake.memory_map");
  CHECK(r.set_handler("fake.set", 1).kind() == "fake.set");
  CHECK(r.handler("fake.files_state", 0).kind() == "fake.files_state");
}

TEST_CASE("a kind asked for in another role, of a later version, or that no "
          "fake plugin has is refused naming it") {
  engine::Registry r = load_fake_plugins({"fd", "roles"});
  auto code_of = [](auto lookup) {
    try {
      lookup();
    } catch (const sdk::Error &e) {
      return e.code();
    }
    return sdk::Code::other;
  };
  CHECK(code_of([&] { r.fd_handler("fake.set", 1); }) ==
        sdk::Code::damaged_statefile);
  CHECK_THROWS_WITH(r.process_handler("fake.devnull", 1),
                    Catch::Contains("'fake.devnull'"));
  CHECK_THROWS_WITH(r.handler("fake.devnull", 3),
                    Catch::Contains("'fake.devnull' were saved by version 3"));
  // The real plugins are not loaded beside them.
  CHECK_THROWS_WITH(r.handler("files.regular", 1),
                    Catch::Contains("no plugin handles objects of kind "
                                    "'files.regular'"));
}

TEST_CASE("process handlers come by phase, then by kind") {
  engine::Registry r = load_fake_plugins({"roles", "fd"});
  CHECK(kinds_of(r.process_handlers()) ==
        std::vector<std::string>{"fake.memory_map", "fake.files_state"});
  CHECK(kinds_of(r.set_handlers()) == std::vector<std::string>{"fake.set"});
}

TEST_CASE("an open file goes to the claiming handler of highest priority, "
          "though another comes first by kind") {
  engine::Registry r = load_fake_plugins({"fd"});
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
  int ends[2];
  REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
  char regular_path[] = "/tmp/cpr-unit-fake-XXXXXX";
  int regular = ::mkostemp(regular_path, O_CLOEXEC);
  REQUIRE((null >= 0 && zero >= 0 && regular >= 0));

  // "fake.chardev" claims both devices; "fake.devnull" is above it.
  CHECK(claimant(r, null) == "fake.devnull");
  CHECK(claimant(r, zero) == "fake.chardev");
  CHECK(claimant(r, ends[0]) == "fake.pipe");
  CHECK(claimant(r, regular) == "");

  ::unlink(regular_path);
  for (int fd : {null, zero, ends[0], ends[1], regular})
    ::close(fd);
}

TEST_CASE("of two handlers of one priority that claim a file, the first by "
          "kind gets it, whichever plugin was loaded first") {
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(null >= 0);
  CHECK(claimant(load_fake_plugins({"fd", "same_priority"}), null) ==
        "fake.any_null");
  CHECK(claimant(load_fake_plugins({"same_priority", "fd"}), null) ==
        "fake.any_null");
  ::close(null);
}

TEST_CASE("a plugin built for another SDK ABI is refused in one line naming "
          "it, and unloaded") {
  engine::Registry r;
  const std::string path = fake_plugin("wrong_abi");
  CHECK(refusal(r, "wrong_abi") ==
        "plugin " + path + " was built for SDK ABI " +
            std::to_string(sdk::abi_version + 1) + ", this cpr has " +
            std::to_string(sdk::abi_version));
  CHECK(r.plugin_names().empty());
  CHECK_FALSE(test::library_loaded(path));
}

TEST_CASE("a plugin with a kind another plugin has is refused whole, in one "
          "line naming both") {
  engine::Registry r = load_fake_plugins({"fd"});
  CHECK(refusal(r, "duplicate_kind") ==
        "plugins " + fake_plugin("fd") + " and " +
            fake_plugin("duplicate_kind") +
            " both handle objects of kind 'fake.devnull': remove one of them");
  CHECK(r.plugin_names() == std::vector<std::string>{"fake_fd"});
  // Not even its kind that nobody else has is kept.
  CHECK_THROWS_AS(r.handler("fake.own_kind", 1), sdk::Error);
  CHECK(r.fd_handler("fake.devnull", 2).version() == 2);
}

TEST_CASE("a plugin with two handlers of one kind is refused naming it and "
          "the kind") {
  engine::Registry r;
  std::string refused = refusal(r, "kind_twice");
  CHECK(refused == "plugin " + fake_plugin("kind_twice") +
                       " has two handlers of kind 'fake.twice'");
  CHECK(refused.find('\n') == std::string::npos);
  CHECK(r.plugin_names().empty());
}

TEST_CASE("a plugin that throws a std::exception while it is loaded is "
          "refused with its words, naming it") {
  engine::Registry r;
  CHECK(refusal(r, "throws_at_load") == "cannot load plugin " +
                                            fake_plugin("throws_at_load") +
                                            ": the fake has no handlers today");
  CHECK(r.plugin_names().empty());
}

TEST_CASE("a plugin whose handler throws when asked its kind is refused at "
          "load, not when the kind is used") {
  engine::Registry r;
  CHECK_THAT(
      refusal(r, "kind_throws"),
      Catch::StartsWith("cannot load plugin " + fake_plugin("kind_throws")));
  CHECK(r.plugin_names().empty());
}

TEST_CASE("a plugin that throws what is no std::exception while it is loaded "
          "is refused naming it") {
  engine::Registry r;
  CHECK_THAT(refusal(r, "throws_at_load_nonstd"),
             Catch::StartsWith("cannot load plugin " +
                               fake_plugin("throws_at_load_nonstd")));
  CHECK(r.plugin_names().empty());
}
