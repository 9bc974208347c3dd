#include "select/attributes.hpp"
#include "statefile/manifest.hpp"

#include <cpr/sdk/error.hpp>

#include <catch2/catch.hpp>

#include <cpr/sdk/portable_archive.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <pwd.h>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace cpr::engine;
using cpr::engine::FileDisposition;

namespace {

const char *const guide_example = R"(CKPT PID 1111 {
    FILE: "/tmp/*": REPLACE
    WILL CONT
    FORK ANY
}
)";

std::vector<AttributeBlock> parse(const std::string &text) {
  return parse_attributes(text, "test.cpr");
}

Policies policies(const std::string &ids,
                  const std::vector<std::string> &files) {
  std::vector<std::vector<AttributeBlock>> blocks;
  for (size_t i = 0; i < files.size(); ++i)
    blocks.push_back(parse_attributes(files[i], "file" + std::to_string(i)));
  return policies_for(cpr::engine::IdList::parse(ids), blocks);
}

std::string error_of(const std::string &text) {
  try {
    parse(text);
  } catch (const cpr::sdk::Error &e) {
    return e.what();
  }
  return "(no error)";
}

struct TempDir {
  fs::path path = fs::temp_directory_path() /
                  ("cpr-unit-attr-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string &name, const std::string &text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

// Sets (or unsets) an environment variable for the scope.
class EnvVar {
public:
  EnvVar(const char *name, const char *value) : name_(name) {
    if (const char *old = std::getenv(name))
      old_ = old;
    value ? ::setenv(name, value, 1) : ::unsetenv(name);
  }
  ~EnvVar() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }

private:
  const char *name_;
  std::optional<std::string> old_;
};

} // namespace

TEST_CASE("attributes: the guide's example is accepted verbatim") {
  auto blocks = parse(guide_example);
  REQUIRE(blocks.size() == 1);
  const AttributeBlock &b = blocks[0];
  CHECK(b.id_type == "PID");
  CHECK(b.id_value == "1111");
  REQUIRE(b.files.size() == 1);
  CHECK(b.files[0].pattern == "/tmp/*");
  CHECK(b.files[0].action == FileDisposition::replace);
  CHECK_FALSE(b.file_default.has_value());
  CHECK(b.will == Will::cont);
  CHECK(b.fork == Fork::any);
  CHECK_FALSE(b.cdir.has_value());
  CHECK_FALSE(b.rdir.has_value());

  Policies p = policies("1111", {guide_example});
  CHECK(p.will() == Will::cont);
  CHECK(p.fork() == Fork::any);
  CHECK(p.disposition("/tmp/scratch/x.dat") == FileDisposition::replace);
  CHECK(p.disposition("/home/u/out") == FileDisposition::merge);
  CHECK(p.policy("FILE", "/tmp/scratch/x.dat") == "REPLACE");
  CHECK(p.policy("FILE", "/home/u/out") == "MERGE");
  CHECK(p.policy("NOSUCH", "/home/u/out") == "");
}

TEST_CASE("attributes: every policy, both forms, comments") {
  auto blocks = parse(R"(# defaults for everyone
CKPT * * {   # every checkpoint
    FILE: "/var/log/*": APPEND
    FILE "/scratch/*" IGNORE      # without colons
    FILE: "/data/*.db": SUBSTITUTE
    file: "/etc/*": merge         # keywords in any case
    FILE: REPLACE
    WILL: KILL
    CDIR: IGNORE
    RDIR IGNORE
    FORK: ORIGINAL
    IPC: ALL
}

CKPT GID 12 { WILL EXIT }
CKPT JID /sys/fs/cgroup/x
{
}
CKPT ASH 0x1d {}
CKPT SID 7 { CDIR REPLACE
  RDIR: REPLACE }
CKPT HID 8 { FORK ANY }
CKPT SGP 9 { WILL: CONT }
CKPT * 0x10 { IPC USED }
)");
  REQUIRE(blocks.size() == 8);
  const AttributeBlock &all = blocks[0];
  CHECK(all.id_type == "*");
  CHECK(all.id_value == "*");
  REQUIRE(all.files.size() == 4);
  CHECK(all.files[0].action == FileDisposition::append);
  CHECK(all.files[1].pattern == "/scratch/*");
  CHECK(all.files[1].action == FileDisposition::ignore);
  CHECK(all.files[2].action == FileDisposition::substitute);
  CHECK(all.files[3].action == FileDisposition::merge);
  CHECK(all.file_default == FileDisposition::replace);
  CHECK(all.will == Will::kill);
  CHECK(all.cdir == DirPolicy::ignore);
  CHECK(all.rdir == DirPolicy::ignore);
  CHECK(all.fork == Fork::original);
  CHECK(all.ipc == IpcPolicy::all);
  CHECK(blocks[1].id_type == "GID");
  CHECK(blocks[1].will == Will::exit);
  CHECK(blocks[2].id_value == "/sys/fs/cgroup/x");
  CHECK(blocks[3].id_type == "ASH");
  CHECK(blocks[4].cdir == DirPolicy::replace);
  CHECK(blocks[4].rdir == DirPolicy::replace);
  CHECK(blocks[5].fork == Fork::any);
  CHECK(blocks[6].will == Will::cont);
  CHECK(blocks[7].id_type == "*");
  CHECK(blocks[7].ipc == IpcPolicy::used);
  CHECK(!blocks[6].ipc);
  CHECK(parse("").empty());
  CHECK(parse("# only a comment\n\n   \n").empty());
}

TEST_CASE("attributes: syntax errors say FILE:LINE:COLUMN") {
  CHECK(error_of("CKPT PID 1111 {\n    WILL STOP\n}\n") ==
        "test.cpr:2:10: unknown WILL action 'STOP' (use EXIT, KILL or CONT)");
  CHECK(error_of("CKPT PID 1111 {\n  FILE: \"/tmp/*\": KEEP\n}") ==
        "test.cpr:2:19: unknown FILE action 'KEEP' (use MERGE, IGNORE, "
        "APPEND, REPLACE or SUBSTITUTE)");
  CHECK(error_of("CKPT XID 1 {\n}") ==
        "test.cpr:1:6: unknown IDtype 'XID' (use PID, GID, SID, ASH, JID, "
        "HID, SGP or *)");
  CHECK(error_of("CKPT PID abc {\n}") ==
        "test.cpr:1:10: 'abc' is not an ID of type PID");
  CHECK(error_of("CKPT PID * {\n}") ==
        "test.cpr:1:10: IDvalue * goes only with IDtype *");
  CHECK(error_of("CKPT PID 1 {\n  WILL CONT\n") ==
        "test.cpr:3:1: the block of line 1 has no '}'");
  CHECK(error_of("CKPT PID 1 {\n  FILE: \"/tmp/*: REPLACE\n}") ==
        "test.cpr:2:9: the pattern has no closing '\"'");
  CHECK(error_of("CKPT PID 1 {\n  WILL CONT FORK ANY\n}") ==
        "test.cpr:2:13: expected the end of the line after the WILL policy, "
        "found 'FORK'");
  CHECK(error_of("\n\nPID 1 {\n}") == "test.cpr:3:1: expected CKPT, found "
                                      "'PID'");
  CHECK(error_of("CKPT PID 1\n}") == "test.cpr:2:1: expected '{', found '}'");
  CHECK(error_of("CKPT PID 1 {\n  MOVE: IGNORE\n}") ==
        "test.cpr:2:3: unknown policy 'MOVE' (use FILE, WILL, CDIR, RDIR, "
        "FORK or IPC)");
  CHECK(error_of("CKPT PID 1 {\n  IPC: SOME\n}") ==
        "test.cpr:2:8: unknown IPC action 'SOME' (use USED or ALL)");
  CHECK(error_of("CKPT PID 1 {\n  WILL CONT\n  WILL KILL\n}") ==
        "test.cpr:3:3: WILL is given twice in this block");
  CHECK(error_of("CKPT PID 1 {\n  WILL\n}") ==
        "test.cpr:2:7: expected a WILL action, found the end of the line");
  CHECK(error_of("CKPT PID 1 {\n} CKPT") ==
        "test.cpr:2:3: expected the end of the line after '}', found 'CKPT'");
  CHECK(error_of("CKPT PID 1 {\n FILE: \"\": MERGE\n}") ==
        "test.cpr:2:8: the pattern is empty");
}

TEST_CASE("attributes: which blocks apply to the -p IDs") {
  const std::string file = R"(
CKPT PID 1111 { WILL CONT }
CKPT GID 12 { CDIR IGNORE }
CKPT JID /sys/fs/cgroup/x { RDIR IGNORE }
CKPT ASH 29 { FORK ANY }
CKPT * 77 { FILE: IGNORE }
)";
  CHECK(policies("1111", {file}).will() == Will::cont);
  CHECK(policies("1111:PID", {file}).will() == Will::cont);
  CHECK(policies("5,1111", {file}).will() == Will::cont);
  CHECK_FALSE(policies("1111:GID", {file}).will().has_value());
  CHECK_FALSE(policies("11111", {file}).will().has_value());
  CHECK(policies("12:GID", {file}).cdir() == DirPolicy::ignore);
  CHECK(policies("12", {file}).cdir() == DirPolicy::replace);
  CHECK(policies("/sys/fs/cgroup/x/:JID", {file}).rdir() == DirPolicy::ignore);
  CHECK(policies("/sys/fs/cgroup/y:JID", {file}).rdir() == DirPolicy::replace);
  CHECK(policies("0x1d:ASH", {file}).fork() == Fork::any);
  CHECK(policies("77:HID", {file}).disposition("/a") ==
        FileDisposition::ignore);
  CHECK(policies("0x4d:SID", {file}).disposition("/a") ==
        FileDisposition::ignore);

  Policies none = policies("9999", {file});
  CHECK_FALSE(none.will().has_value());
  CHECK(none.cdir() == DirPolicy::replace);
  CHECK(none.rdir() == DirPolicy::replace);
  CHECK(none.fork() == Fork::original);
  CHECK(none.disposition("/tmp/x") == FileDisposition::merge);
  CHECK(policies("9999", {"CKPT * * { WILL: KILL }"}).will() == Will::kill);
}

TEST_CASE("attributes: precedence of files, blocks and FILE patterns") {
  const std::string proto = R"(CKPT * * {
    WILL CONT
    CDIR IGNORE
    FILE: "/tmp/*": APPEND
}
CKPT PID 5 { FORK ANY }
)";
  const std::string home = R"(CKPT * * {
    WILL KILL
    FORK ORIGINAL
    FILE: "/tmp/log*": IGNORE
}
CKPT * * { FILE: "/tmp/log1": SUBSTITUTE }
)";
  Policies p = policies("5", {proto, home});
  CHECK(p.will() == Will::kill);        // $HOME/.cpr beats cpr_proto
  CHECK(p.cdir() == DirPolicy::ignore); // only cpr_proto says it
  CHECK(p.fork() == Fork::any);         // specific beats * in any file
  CHECK(p.disposition("/tmp/log1") == FileDisposition::substitute); // later
  CHECK(p.disposition("/tmp/log2") == FileDisposition::ignore);
  CHECK(p.disposition("/tmp/other") == FileDisposition::append);
  CHECK(p.disposition("/var/x") == FileDisposition::merge);

  // `TYPE VALUE` beats `* VALUE` beats `* *`, whatever the order.
  Policies q = policies("7", {"CKPT PID 7 { WILL EXIT }\n"
                              "CKPT * 7 { WILL KILL\n CDIR IGNORE }\n"
                              "CKPT * * { WILL CONT\n CDIR REPLACE }"});
  CHECK(q.will() == Will::exit);
  CHECK(q.cdir() == DirPolicy::ignore);

  // In one block, the first matching pattern wins; the block's FILE
  // without a pattern beats any weaker block's patterns.
  Policies r = policies("8", {R"(CKPT * * { FILE: "/d/*": REPLACE }
CKPT PID 8 {
    FILE: "/d/a*": IGNORE
    FILE: "/d/ab": APPEND
    FILE: "/d/*/*": SUBSTITUTE
    FILE: MERGE
})"});
  CHECK(r.disposition("/d/ab") == FileDisposition::ignore);
  CHECK(r.disposition("/d/sub/dir/f") == FileDisposition::substitute);
  CHECK(r.disposition("/d/b") == FileDisposition::merge);
  CHECK(policies("9", {"CKPT * * {\n FILE: \"/*\": APPEND\n}"})
            .disposition("/a/b/c") == FileDisposition::append);
}

TEST_CASE("attributes: the command line beats the file") {
  Policies cont = policies("1", {"CKPT * * { WILL CONT }"});
  CHECK(decide_will(std::nullopt, cont) == Will::cont);
  CHECK(decide_will(Will::kill, cont) == Will::kill);
  CHECK(decide_will(Will::cont, policies("1", {"CKPT * * { WILL EXIT }"})) ==
        Will::cont);
  CHECK(decide_will(std::nullopt, Policies{}) == Will::exit);

  const std::vector<Fork> original{Fork::original, Fork::original};
  const std::vector<Fork> one_any{Fork::original, Fork::any};
  CHECK(decide_fork(Fork::original, original) == Fork::original);
  CHECK(decide_fork(Fork::any, original) == Fork::any);
  CHECK(decide_fork(Fork::original, one_any) == Fork::any);
}

TEST_CASE("attributes: reading the files") {
  TempDir dir;
  std::string proto = dir.write("cpr_proto", "CKPT * * {\n WILL CONT\n}\n");
  std::string home = dir.write(".cpr", "CKPT PID 4 {\n  CDIR IGNORE\n}\n");
  std::string missing = (dir.path / "none").string();
  Policies p =
      load_policies(cpr::engine::IdList::parse("4"), {proto, missing, home});
  CHECK(p.will() == Will::cont);
  CHECK(p.cdir() == DirPolicy::ignore);
  CHECK(read_attribute_file(missing).empty());

  std::string broken = dir.write("broken", "CKPT PID 4 {\n  WILL: GO\n}\n");
  CHECK_THROWS_WITH(
      load_policies(cpr::engine::IdList::parse("4"), {proto, broken}),
      broken + ":2:9: unknown WILL action 'GO' (use EXIT, KILL "
               "or CONT)");
  // A bad -p list fails where it is parsed, before any file is read.
  CHECK_THROWS_AS(cpr::engine::IdList::parse("1:XYZ"), cpr::sdk::Error);
}

TEST_CASE("attributes: /etc/cpr_proto, then $HOME/.cpr or the password "
          "entry's home") {
  {
    EnvVar home("HOME", "/some/where");
    CHECK(attribute_files() ==
          std::vector<std::string>{"/etc/cpr_proto", "/some/where/.cpr"});
  }
  const passwd *pw = ::getpwuid(::getuid());
  REQUIRE(pw);
  const std::string pw_home = pw->pw_dir;
  EnvVar home("HOME", nullptr);
  CHECK(attribute_files() ==
        std::vector<std::string>{"/etc/cpr_proto", pw_home + "/.cpr"});
}

namespace {

// The Header as class version 0 wrote it, before the policies.
struct HeaderV0 {
  Header h;
  template <class A> void serialize(A &ar, unsigned) {
    ar &h.revision &h.cpr_version &h.time &h.owner_uid &h.owner_gid;
    ar &h.made_by_uid &h.host &h.kernel &h.arch &h.ids &h.will;
  }
};

struct ManifestV0 {
  HeaderV0 header;
  std::vector<ProcessRecord> processes;
  std::vector<ObjectRecord> objects;
  template <class A> void serialize(A &ar, unsigned) {
    ar &header &processes &objects;
  }
};

template <class From> Manifest round_trip(const From &from) {
  std::stringbuf bytes;
  {
    cpr::sdk::PortableOArchive out(bytes);
    out << from;
  }
  std::string written = bytes.str();
  std::stringbuf read(written);
  cpr::sdk::PortableIArchive in(read, written.size());
  Manifest m;
  in >> m;
  return m;
}

} // namespace

TEST_CASE("attributes: the statefile keeps FORK, CDIR, RDIR") {
  Manifest m;
  m.header.ids = "42";
  m.header.fork = Fork::any;
  m.header.cdir = DirPolicy::ignore;
  m.header.rdir = DirPolicy::ignore;
  Manifest back = round_trip(m);
  CHECK(back.header.fork == Fork::any);
  CHECK(back.header.cdir == DirPolicy::ignore);
  CHECK(back.header.rdir == DirPolicy::ignore);

  ManifestV0 old;
  old.header.h.ids = "43";
  old.header.h.will = "CONT";
  old.processes.resize(1);
  back = round_trip(old);
  CHECK(back.header.ids == "43");
  CHECK(back.header.will == "CONT");
  CHECK(back.header.fork == Fork::original);
  CHECK(back.header.cdir == DirPolicy::replace);
  CHECK(back.header.rdir == DirPolicy::replace);
  CHECK(back.processes.size() == 1);
}
