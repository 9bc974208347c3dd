#include "statefile.hpp"

#include <cpr/sdk/error.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace cpr::engine;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() /
                  ("cpr-unit-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

Manifest sample() {
  Manifest m;
  m.header.cpr_version = "test";
  m.header.ids = "42";
  m.header.will = "EXIT";
  ProcessRecord p;
  p.pid = 42;
  p.comm = "sample";
  p.fds.push_back({1, 7, true});
  m.processes.push_back(p);
  m.objects.push_back({7, "files.regular", 1, "payload", "a file"});
  return m;
}

std::string write_sample(const fs::path &where) {
  StatefileWriter w(where.string(), false);
  w.write_manifest(sample());
  w.commit(::getuid(), ::getgid());
  return where.string();
}

} // namespace

TEST_CASE("a statefile round-trips and is a private directory") {
  TempDir dir;
  std::string sf = write_sample(dir.path / "sf");
  struct stat st {};
  REQUIRE(::stat(sf.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  Manifest m = read_manifest(sf);
  CHECK(m.header.ids == "42");
  REQUIRE(m.processes.size() == 1);
  CHECK(m.processes[0].comm == "sample");
  CHECK(m.object(7).summary == "a file");
  CHECK_THROWS_AS(m.object(8), cpr::sdk::Error);
}

TEST_CASE("an existing statefile needs force, and force replaces it") {
  TempDir dir;
  std::string sf = write_sample(dir.path / "sf");
  CHECK_THROWS_WITH(StatefileWriter(sf, false),
                    Catch::Contains("File exists"));
  write_sample(dir.path / "other");
  {
    StatefileWriter w(sf, true);
    Manifest m = sample();
    m.header.ids = "43";
    w.write_manifest(m);
    w.commit(::getuid(), ::getgid());
  }
  CHECK(read_manifest(sf).header.ids == "43");
  // Nothing is left beside it.
  int entries = 0;
  for ([[maybe_unused]] auto &e : fs::directory_iterator(dir.path))
    ++entries;
  CHECK(entries == 2);
}

TEST_CASE("force does not overwrite a directory that is not a statefile") {
  TempDir dir;
  fs::create_directories(dir.path / "home");
  CHECK_THROWS_WITH(StatefileWriter((dir.path / "home").string(), true),
                    Catch::Contains("not a statefile"));
}

TEST_CASE("an abandoned write leaves nothing behind") {
  TempDir dir;
  {
    StatefileWriter w((dir.path / "sf").string(), false);
    w.write_manifest(sample());
  }
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("a damaged MANIFEST is refused") {
  TempDir dir;
  std::string sf = write_sample(dir.path / "sf");
  fs::path manifest = fs::path(sf) / "MANIFEST";
  auto size = fs::file_size(manifest);
  SECTION("truncated") {
    fs::resize_file(manifest, size - 3);
    CHECK_THROWS_WITH(read_manifest(sf), Catch::Contains("damaged statefile"));
  }
  SECTION("altered") {
    std::fstream f(manifest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 2));
    f.put('\x7f');
    f.close();
    CHECK_THROWS_WITH(read_manifest(sf), Catch::Contains("damaged statefile"));
  }
  SECTION("missing") {
    fs::remove(manifest);
    CHECK_THROWS_WITH(read_manifest(sf), Catch::Contains("damaged statefile"));
  }
}

TEST_CASE("only statefiles are deleted") {
  TempDir dir;
  std::string sf = write_sample(dir.path / "sf");
  fs::create_directories(dir.path / "plain");
  CHECK_THROWS_WITH(remove_statefile((dir.path / "plain").string()),
                    Catch::Contains("not a statefile"));
  remove_statefile(sf);
  CHECK_FALSE(fs::exists(sf));
  CHECK_THROWS_WITH(remove_statefile(sf),
                    Catch::Contains("No such file or directory"));
}
