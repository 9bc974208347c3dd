// A statefile grants nothing its maker did not have: altered statefiles
// are refused before anything runs, whatever was done to them; files are
// reopened with their process's own rights; another host's seal is not
// trusted until root reseals it.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <fstream>
#include <functional>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

#include "support/scenario.hpp"

using namespace cpr_test;

namespace {

std::vector<fs::path> files_of(const fs::path &statefile) {
  std::vector<fs::path> files;
  for (const auto &e : fs::recursive_directory_iterator(statefile))
    if (e.is_regular_file())
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

void overwrite(const fs::path &file, std::uint64_t at, const std::string &s) {
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  io.seekp(static_cast<std::streamoff>(at));
  io.write(s.data(), static_cast<std::streamsize>(s.size()));
}

// One of the ways a statefile can be changed, chosen by `rng`; returns
// what it did.
std::string mutate(const fs::path &sf, std::mt19937_64 &rng) {
  auto files = files_of(sf);
  const fs::path &file = files[rng() % files.size()];
  const auto size = fs::file_size(file);
  const std::string name = fs::relative(file, sf).string();
  switch (rng() % 8) {
  case 0: {
    auto at = size ? rng() % size : 0;
    std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(static_cast<std::streamoff>(at));
    char byte = static_cast<char>(io.get() ^ (1 << (rng() % 8)));
    overwrite(file, at, std::string(1, byte));
    return "flip a bit of " + name;
  }
  case 1:
    fs::resize_file(file, size ? rng() % size : 0);
    return "truncate " + name;
  case 2:
    overwrite(sf / "MANIFEST", 16, std::string(8, '\x7f'));
    return "a huge length in the MANIFEST";
  case 3: {
    auto index = static_cast<std::size_t>(&file - files.data());
    fs::path other =
        files[(index + 1 + rng() % (files.size() - 1)) % files.size()];
    fs::path aside = sf / "aside";
    fs::rename(file, aside);
    fs::rename(other, file);
    fs::rename(aside, other);
    return "swap " + name + " and " + fs::relative(other, sf).string();
  }
  case 4:
    fs::remove(file);
    REQUIRE(::mkfifo(file.c_str(), 0600) == 0);
    return "a FIFO for " + name;
  case 5:
    fs::remove(file);
    fs::create_symlink(rng() % 2 ? "/dev/zero" : "/etc/shadow", file);
    return "a symbolic link for " + name;
  case 6:
    std::ofstream(file, std::ios::app) << "more";
    return "append to " + name;
  default:
    std::ofstream(sf / "pages" / "1.img") << "extra";
    return "add pages/1.img";
  }
}

// Words no user should read: a C++ library's, not cpr's.
bool raw_exception_text(const std::string &s) {
  for (const char *w : {"std::", "vector::", "basic_string", "bad_alloc",
                        "input stream error", "filesystem error"})
    if (s.find(w) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST_CASE("Statefiles changed in any way are refused, and nothing runs",
          "[e2e][trust]") {
  auto spec = heap_avx({"8", "4000"});
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);

  std::mt19937_64 rng(20261202);
  for (int round = 0; round < 40; ++round) {
    auto copy = dir / "mutated";
    fs::remove_all(copy);
    fs::copy(sf, copy, fs::copy_options::recursive);
    std::string what = mutate(copy, rng);
    INFO("round " << round << ": " << what);
    for (const char *mode : {"-r", "-i"}) {
      CommandResult r = run_cpr({mode, copy.string()});
      INFO(mode << ": " << r.describe());
      CHECK(r.status.failed());
      auto lines = r.err_lines();
      REQUIRE(lines.size() == 1);
      CHECK(
          (lines[0].find("was altered after checkpoint") != std::string::npos ||
           lines[0].find("damaged statefile") != std::string::npos));
      CHECK_FALSE(raw_exception_text(lines[0]));
    }
    expect_no_process_left(before.pid);
  }
  fs::remove_all(dir / "mutated");

  restart(sf, before);
  expect_finishes_with(target, reference);
}

TEST_CASE("A restarted process's files are opened with its own rights",
          "[e2e][trust][creds]") {
  auto spec = heap_avx();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  dir.give_to(nobody);
  RunningTarget target = start_target(spec, dir, {.as = nobody});
  let_it_run();
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);

  // Its output file, now root's alone: root, restarting it, could open
  // it; the process itself could not.
  fs::path out = dir / "stdout.txt";
  REQUIRE(::chown(out.c_str(), 0, 0) == 0);
  fs::permissions(out, fs::perms::owner_read | fs::perms::owner_write);
  expect_cpr_error(run_cpr({"-r", sf.string()}), "Permission denied");
  expect_no_process_left(before.pid);

  REQUIRE(::chown(out.c_str(), nobody.uid, nobody.gid) == 0);
  restart(sf, before);
  expect_finishes_with(target, reference);
}

TEST_CASE("Another host's statefile is trusted once root reseals it",
          "[e2e][trust]") {
  auto spec = heap_avx();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);

  // This test plays the other host: its key is another file.
  fs::create_directories(dir / "otherhost");
  EnvSettings other{"CPR_KEY_FILE=" + (dir / "otherhost" / "key").string()};
  expect_cpr_error(run_cpr({"-r", sf.string()}, {}, other),
                   "sealed on another host");
  expect_no_process_left(before.pid);
  REQUIRE(run_cpr({"--reseal", sf.string()}, {}, other).status.success());
  CHECK(fs::exists(dir / "otherhost" / "key"));
  CHECK((fs::status(dir / "otherhost" / "key").permissions() &
         (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
  expect_cpr_error(run_cpr({"-i", sf.string()}), "sealed on another host");
  expect_cpr_error(run_cpr({"--reseal", sf.string()}, nobody),
                   "Permission denied");

  CommandResult r = run_cpr({"-r", sf.string()}, {}, other);
  INFO(r.describe());
  REQUIRE(r.status.success());
  expect_finishes_with(target, reference);
}

TEST_CASE("A FIFO or a link put where an open file was is refused",
          "[e2e][trust]") {
  auto spec = heap_avx();
  const std::string &reference = reference_output(spec);
  TempDir dir;
  RunningTarget target = start_target(spec, dir);
  let_it_run();
  auto sf = dir / "statefile";
  ProcessIdentity before = checkpoint_and_reap(sf, target.pid);

  fs::path out = dir / "stdout.txt", aside = dir / "aside.txt";
  fs::rename(out, aside);
  REQUIRE(::mkfifo(out.c_str(), 0600) == 0);
  // Opened without waiting for a reader: refused at once, no hang.
  expect_cpr_error(run_cpr({"-r", sf.string()}), "component unavailable");
  expect_no_process_left(before.pid);
  fs::remove(out);
  fs::create_symlink(aside, out);
  expect_cpr_error(run_cpr({"-r", sf.string()}), "component unavailable");
  expect_no_process_left(before.pid);

  fs::remove(out);
  fs::rename(aside, out);
  restart(sf, before);
  expect_finishes_with(target, reference);
}
