#include "registry.hpp"

#include <cpr/sdk/error.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <sys/stat.h>

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
  REQUIRE(r.fd_handler_for(file) != nullptr);
  CHECK(r.fd_handler_for(file)->kind() == "files.regular");
  file.path = "pipe:[1234]";
  file.st.st_mode = S_IFIFO | 0600;
  REQUIRE(r.fd_handler_for(file) != nullptr);
  CHECK(r.fd_handler_for(file)->kind() == "pipes.pipe");
  file.path = "socket:[1234]";
  file.st.st_mode = S_IFSOCK | 0777;
  CHECK(r.fd_handler_for(file) == nullptr);
}

TEST_CASE("a kind no plugin handles is an error naming the kind") {
  engine::Registry r = engine::Registry::load();
  CHECK_THROWS_WITH(r.handler("nobody.handles", 1),
                    Catch::Contains("nobody.handles"));
  CHECK_THROWS_WITH(r.handler("memory.mm", 99),
                    Catch::Contains("version 99"));
}

TEST_CASE("a library that is not a plugin is refused") {
  engine::Registry r;
  CHECK_THROWS_AS(r.load_library("/lib/x86_64-linux-gnu/libm.so.6"),
                  sdk::Error);
  CHECK_THROWS_AS(r.load_library("/nonexistent/cpr_none.so"), sdk::Error);
}
