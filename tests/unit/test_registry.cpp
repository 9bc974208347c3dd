#include "dispatch/registry.hpp"

#include <cpr/sdk/error.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace cpr;

TEST_CASE("the built-in plugins load through the plugin path") {
  ::setenv("CPR_PLUGIN_PATH", CPR_PLUGIN_BUILD_DIR, 1);
  engine::Registry r = engine::Registry::load();
  auto names = r.plugin_names();
  CHECK(std::find(names.begin(), names.end(), "memory") != names.end());
  CHECK(std::find(names.begin(), names.end(), "files") != names.end());
  CHECK(r.handler("memory.mm", 1).kind() == "memory.mm");
  CHECK(r.fd_handler("files.regular", 1).version() >= 1);

  sdk::OpenFile file;
  file.path = "/etc/passwd";
  file.st.st_mode = S_IFREG | 0644;
  REQUIRE(r.fd_handler_for(file));
  CHECK(r.fd_handler_for(file)->kind() == "files.regular");
  file.path = "pipe:[1234]";
  file.st.st_mode = S_IFIFO | 0600;
  REQUIRE(r.fd_handler_for(file));
  CHECK(r.fd_handler_for(file)->kind() == "pipes.pipe");
  // Sockets are claimed by their protocol; nobody carries packet sockets.
  int ends[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0);
  int packet = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0); // root
  REQUIRE(packet >= 0);
  file.pid = ::getpid();
  file.fd = ends[0];
  REQUIRE(::fstat(file.fd, &file.st) == 0);
  file.path = "socket:[" + std::to_string(file.st.st_ino) + "]";
  REQUIRE(r.fd_handler_for(file));
  CHECK(r.fd_handler_for(file)->kind() == "sockets.unix");
  file.fd = packet;
  REQUIRE(::fstat(file.fd, &file.st) == 0);
  CHECK_FALSE(r.fd_handler_for(file));
  ::close(ends[0]);
  ::close(ends[1]);
  ::close(packet);
}

TEST_CASE("a kind no plugin handles is an error naming the kind") {
  engine::Registry r = engine::Registry::load();
  CHECK_THROWS_WITH(r.handler("nobody.handles", 1),
                    Catch::Contains("nobody.handles"));
  CHECK_THROWS_WITH(r.handler("memory.mm", 99), Catch::Contains("version 99"));
}

TEST_CASE("a library that is not a plugin is refused") {
  engine::Registry r;
  CHECK_THROWS_AS(r.load_library("/lib/x86_64-linux-gnu/libm.so.6"),
                  sdk::Error);
  CHECK_THROWS_AS(r.load_library("/nonexistent/cpr_none.so"), sdk::Error);
}

TEST_CASE("a second plugin with a kind another has is refused naming both") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() /
                 ("cpr-unit-plugins-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path original = fs::path(CPR_PLUGIN_BUILD_DIR) / "cpr_memory.so";
  fs::path copy = dir / "cpr_memory_again.so";
  fs::copy_file(original, copy, fs::copy_options::overwrite_existing);
  engine::Registry r;
  r.load_library(original.string());
  CHECK_THROWS_WITH(r.load_library(copy.string()),
                    Catch::Contains("plugins " + original.string() + " and " +
                                    copy.string() +
                                    " both handle objects of kind"));
  // The first one's kinds are still there, and only once.
  CHECK(r.handler("memory.mm", 1).kind() == "memory.mm");
  CHECK(r.plugin_names().size() == 1);
  fs::remove_all(dir);
}

TEST_CASE("whatever a plugin throws comes out as the engine's Error") {
  struct Fake : sdk::Handler {
    std::string kind() const override { return "fake.kind"; }
    unsigned version() const override { return 1; }
  } fake;
  struct PluginOwnError : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  struct PluginError : sdk::Error {
    using sdk::Error::Error;
  };
  auto thrown = [&](auto call) -> std::string {
    try {
      engine::into_plugin(fake, call);
    } catch (const sdk::IdTaken &e) {
      return typeid(e) == typeid(sdk::IdTaken) ? e.what() : "not sliced";
    } catch (const sdk::Error &e) {
      return typeid(e) == typeid(sdk::Error) ? e.what() : "not sliced";
    } catch (...) {
      return "not an Error";
    }
    return "nothing";
  };
  CHECK(thrown([] { throw PluginError("Resource busy: x"); }) ==
        "Resource busy: x");
  CHECK(thrown([] { throw sdk::IdTaken("id 3 taken"); }) == "id 3 taken");
  CHECK(thrown([] { throw PluginOwnError("raw"); }) ==
        "other fatal failure: an internal error in cpr");
  CHECK(thrown([] { throw 42; }) ==
        "other fatal failure: the handler of fake.kind failed");
}
