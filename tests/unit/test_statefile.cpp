#include "trust/credentials_bound.hpp"
#include "statefile/statefile.hpp"

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
  fs::path path =
      fs::temp_directory_path() / ("cpr-unit-" + std::to_string(::getpid()));
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
  CHECK_THROWS_WITH(StatefileWriter(sf, false), Catch::Contains("File exists"));
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
    CHECK_THROWS_WITH(
        read_manifest(sf),
        Catch::Contains("was altered after checkpoint (MANIFEST)"));
  }
  SECTION("missing") {
    fs::remove(manifest);
    CHECK_THROWS_WITH(read_manifest(sf), Catch::Contains("damaged statefile"));
  }
  SECTION("a FIFO in its place") {
    fs::remove(manifest);
    REQUIRE(::mkfifo(manifest.c_str(), 0600) == 0);
    CHECK_THROWS_WITH(
        read_manifest(sf),
        Catch::Contains("was altered after checkpoint (MANIFEST)"));
  }
  SECTION("a link in its place") {
    fs::remove(manifest);
    fs::create_symlink("/dev/zero", manifest);
    CHECK_THROWS_WITH(
        read_manifest(sf),
        Catch::Contains("was altered after checkpoint (MANIFEST)"));
  }
}

TEST_CASE("a statefile holds only what cpr sealed") {
  TempDir dir;
  std::string sf = write_sample(dir.path / "sf");
  SECTION("a file added") {
    std::ofstream(fs::path(sf) / "pages" / "1.img") << "x";
    CHECK_THROWS_WITH(
        read_manifest(sf),
        Catch::Contains("altered after checkpoint (pages/1.img)"));
  }
  SECTION("the seal altered") {
    std::fstream f(fs::path(sf) / "SEAL",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(12);
    char c = static_cast<char>(f.get());
    f.seekp(12);
    f.put(c == '0' ? '1' : '0');
    f.close();
    CHECK_THROWS_WITH(read_manifest(sf),
                      Catch::Contains("altered after checkpoint (SEAL)"));
  }
  SECTION("no seal") {
    fs::remove(fs::path(sf) / "SEAL");
    CHECK_THROWS_WITH(read_manifest(sf), Catch::Contains("is not sealed"));
  }
}

TEST_CASE("a dead checkpoint's work directory is removed by the next") {
  TempDir dir;
  fs::path dead = dir.path / ".sf.cpr-tmp.999999";
  fs::create_directories(dead / "pages");
  write_sample(dir.path / "other");
  CHECK_FALSE(fs::exists(dead));
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

TEST_CASE("a MANIFEST rewritten with uid 0 and a good checksum is refused") {
  TempDir dir;
  std::string sf = write_sample(dir.path / "sf");
  Manifest forged = sample();
  forged.processes[0].creds.uids = {0, 0, 0, 0};
  forged.processes[0].creds.cap_effective = ~0ULL;
  std::string other = (dir.path / "forged").string();
  {
    StatefileWriter w(other, false);
    w.write_manifest(forged);
    w.commit(::getuid(), ::getgid());
  }
  fs::copy_file(fs::path(other) / "MANIFEST", fs::path(sf) / "MANIFEST",
                fs::copy_options::overwrite_existing);
  CHECK_THROWS_WITH(read_manifest(sf),
                    Catch::Contains("was altered after checkpoint (MANIFEST)"));
}

TEST_CASE("a process gets nothing its maker or restarter lacks") {
  ProcessRecord p;
  p.pid = 42;
  p.creds.uids = {1000, 1000, 1000, 1000};
  p.creds.gids = {100, 100, 100, 100};
  p.creds.groups = {100, 27};
  Rights user{1000, {100, 27}};
  CHECK_NOTHROW(check_within(p, user, "its maker"));
  CHECK_NOTHROW(check_within(p, Rights{0, {0}}, "you"));
  SECTION("a uid of another") {
    p.creds.uids[1] = 0;
    CHECK_THROWS_WITH(check_within(p, user, "its maker"),
                      Catch::Contains("Permission denied: process 42 has uid "
                                      "0, which its maker (uid 1000)"));
  }
  SECTION("a group it is not in") {
    p.creds.groups.push_back(0);
    CHECK_THROWS_WITH(check_within(p, user, "you"),
                      Catch::Contains("is in group 0"));
  }
  SECTION("capabilities") {
    p.creds.cap_permitted = 1ULL << 21;
    CHECK_THROWS_WITH(check_within(p, user, "you"),
                      Catch::Contains("holds capabilities"));
  }
}
