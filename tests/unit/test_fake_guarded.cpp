// What a loaded plugin's handler throws, as the engine lets it out: always
// its own sdk::Error, made while the plugin's library is still loaded.
#include "fake_plugins.hpp"

#include <cpr/sdk/error.hpp>

#include <catch2/catch.hpp>

#include <cerrno>
#include <exception>
#include <typeinfo>

using namespace cpr;
using cpr::test::load_fake_plugins;

namespace {

// An open file named so that fake.throwing throws from claims() or save().
sdk::OpenFile named(const std::string &name) {
  sdk::OpenFile file;
  file.path = "/nowhere/" + name;
  file.st.st_mode = S_IFREG | 0600;
  return file;
}

// What claims() or save() of fake.throwing threw, checked to be of the
// engine's own type, neither the plugin's nor one derived from Error.
sdk::Error thrown_by(const std::string &file_name) {
  engine::Registry r = load_fake_plugins({"throwing"});
  engine::FdHandlerRef handler = r.fd_handler("fake.throwing", 1);
  test::NoPages pages;
  sdk::SaveContext ctx{"statefile", pages, r.sessions()};
  try {
    if (handler.claims(named(file_name)))
      handler.save(named(file_name), ctx);
  } catch (const sdk::Error &e) {
    if (typeid(e) != typeid(sdk::Error))
      FAIL("a " << typeid(e).name() << " came out of the plugin");
    return e;
  }
  FAIL("nothing came out of the plugin");
  return sdk::Error("");
}

} // namespace

TEST_CASE("an Error a plugin throws comes out as the engine's, with its "
          "code and words") {
  for (const char *file : {"claims-throws-busy", "save-throws-busy"}) {
    sdk::Error e = thrown_by(file);
    CHECK(e.code() == sdk::Code::busy);
    CHECK(std::string(e.what()) == "Resource busy: the fake's file is in use");
  }
}

TEST_CASE("a std::exception of a plugin's own comes out as an Error without "
          "its raw words") {
  for (const char *file : {"claims-throws-std", "save-throws-std"}) {
    sdk::Error e = thrown_by(file);
    CHECK(e.code() == sdk::Code::other);
    CHECK(std::string(e.what()) ==
          "other fatal failure: an internal error in cpr");
  }
}

TEST_CASE("a std::system_error a plugin throws comes out with its errno") {
  sdk::Error e = thrown_by("save-throws-errno");
  CHECK(e.code() == sdk::Code::system);
  CHECK(e.system_errno() == EACCES);
}

TEST_CASE("what a plugin throws that is no std::exception comes out as an "
          "Error naming the handler's kind") {
  for (const char *file : {"claims-throws-nonstd", "save-throws-nonstd"})
    CHECK(std::string(thrown_by(file).what()) ==
          "other fatal failure: the handler of fake.throwing failed");
}

TEST_CASE("the Error out of a plugin is handled while its library is loaded "
          "and outlives the library") {
  const std::string path = test::fake_plugin("throwing");
  std::exception_ptr error;
  bool loaded_while_handled = false;
  {
    engine::Registry r = load_fake_plugins({"throwing"});
    try {
      r.fd_handler("fake.throwing", 1).claims(named("claims-throws-nonstd"));
    } catch (const sdk::Error &) {
      loaded_while_handled = test::library_loaded(path);
      error = std::current_exception();
    }
  }
  CHECK(loaded_while_handled);
  REQUIRE_FALSE(test::library_loaded(path));
  REQUIRE(error);
  // Had it been the plugin's own exception, its type information and
  // destructor would be in the unloaded library.
  try {
    std::rethrow_exception(error);
  } catch (const sdk::Error &e) {
    CHECK(typeid(e) == typeid(sdk::Error));
    CHECK_THAT(e.what(), Catch::Contains("fake.throwing"));
  }
}
