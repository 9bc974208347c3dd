// cpr -i and cpr -D.
#include "dispatch/registry.hpp"
#include "select/attributes.hpp"
#include "statefile/statefile.hpp"

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>

#include <ctime>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <ostream>
#include <set>

namespace cpr::engine {
namespace {

std::string when(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", std::localtime(&tt));
  return buf;
}

std::string join(const std::vector<std::uint32_t> &v) {
  return fmt::format("{}", fmt::join(v, ","));
}

void describe_process(const ProcessRecord &p, const Manifest &m,
                      std::ostream &out) {
  out << fmt::format("  Process:\t\t{} ({})\n",
                     p.psargs.empty() ? p.comm : p.psargs, p.comm);
  out << fmt::format("  PID,PPID:\t\t{},{}\n", p.pid, p.ppid);
  out << fmt::format("  PGRP,SID:\t\t{},{}\n", p.pgid, p.sid);
  out << fmt::format("  UID (r,e,s,fs):\t{}\n", join(p.creds.uids));
  out << fmt::format("  GID (r,e,s,fs):\t{}\n", join(p.creds.gids));
  out << fmt::format("  Executable:\t\t{}\n", p.exe);
  out << fmt::format("  Working at dir:\t{}\n", p.cwd);
  out << fmt::format("  Root dir:\t\t{}\n", p.root);
  out << fmt::format("  Threads:\t\t{}\n", p.threads.size());
  std::uint64_t here = 0, earlier = 0;
  for (const PageExtent &e : p.page_extents)
    (e.source == 0 ? here : earlier) += e.length;
  out << fmt::format("  Memory saved:\t\t{} bytes", here + earlier);
  if (earlier > 0)
    out << fmt::format(", {} of them unchanged in earlier statefiles", earlier);
  if (!p.page_frames.empty())
    out << fmt::format(", {}compressed to {}", earlier > 0 ? "the rest " : "",
                       p.pages_file_bytes());
  out << "\n";
  out << fmt::format("  Open files:\t\t{}\n", p.fds.size());
  for (const FdRef &ref : p.fds) {
    const ObjectRecord &o = m.object(ref.object);
    out << fmt::format("    fd {:<4} {:<16} {}{}\n", ref.fd, o.kind, o.summary,
                       ref.cloexec ? " (close-on-exec)" : "");
  }
  for (std::uint64_t id : p.objects) {
    const ObjectRecord &o = m.object(id);
    if (!o.summary.empty()) // nothing of its kind in this process
      out << fmt::format("  {:<20}\t{}\n", o.kind + ":", o.summary);
  }
}

// Kinds the installed plugins read as others (their remap tables). cpr -i
// needs no plugin: where none loads, it says nothing of them.
void describe_remaps(const Manifest &m, std::ostream &out) {
  std::optional<Registry> registry;
  try {
    registry.emplace(Registry::load());
  } catch (const std::exception &) {
    return;
  }
  std::set<std::pair<std::string, std::uint32_t>> told;
  for (const ObjectRecord &o : m.objects)
    if (auto to = registry->remapped_to(o.kind, o.version))
      if (told.insert({o.kind, o.version}).second)
        out << fmt::format(
            "  Remapped:		{} (version {}) is read as {}\n",
            o.kind, o.version, *to);
}

} // namespace

void describe(const std::string &statefile, std::ostream &out) {
  Manifest m = read_manifest(statefile);
  check_access(statefile, m.header, Access::query);
  const Header &h = m.header;
  out << fmt::format("Information About Statefile {} (revision {}, cpr {}):\n",
                     statefile, h.revision, h.cpr_version);
  out << fmt::format("  Checkpointed:\t\t{}\n", when(h.time));
  out << fmt::format("  Processes:\t\t{} ({})\n", m.processes.size(), h.ids);
  out << fmt::format("  Owner uid,gid:\t{},{}{}\n", h.owner_uid, h.owner_gid,
                     h.made_by_uid == 0 ? " (made by root)" : "");
  out << fmt::format("  Host, kernel:\t\t{}, {} {}\n", h.host, h.kernel,
                     h.arch);
  out << fmt::format("  WILL policy:\t\t{}\n", h.will);
  out << fmt::format("  FORK policy:\t\t{}\n", fork_name(h.fork));
  out << fmt::format("  CDIR policy:\t\t{}\n", dir_policy_name(h.cdir));
  out << fmt::format("  RDIR policy:\t\t{}\n", dir_policy_name(h.rdir));
  for (std::size_t k = 0; k < h.ancestors.size(); ++k)
    out << fmt::format(
        "  {}\t\t{}\n",
        k == 0 ? "Made since:" : "  which follows:", h.ancestors[k].path);
  if (h.compress_level != 0)
    out << fmt::format("  Compression:\t\tzstd, level {}\n", h.compress_level);
  for (std::uint64_t id : m.set_objects) {
    const ObjectRecord &o = m.object(id);
    out << fmt::format("  {:<20}\t{}\n", o.kind + ":", o.summary);
  }
  describe_remaps(m, out);
  for (const ProcessRecord &p : m.processes) {
    out << "\n";
    describe_process(p, m, out);
  }
}

StatefileSummary summarize(const std::string &statefile) {
  Manifest m = read_manifest(statefile);
  check_access(statefile, m.header, Access::query);
  StatefileSummary s{m.header.revision, m.header.ids, m.header.time, {}};
  for (const ProcessRecord &p : m.processes) {
    ProcessSummary ps;
    ps.pid = p.pid;
    ps.ppid = p.ppid;
    ps.pgid = p.pgid;
    ps.sid = p.sid;
    ps.uid = p.creds.uids.empty() ? 0 : p.creds.uids[0];
    ps.gid = p.creds.gids.empty() ? 0 : p.creds.gids[0];
    ps.comm = p.comm;
    ps.psargs = p.psargs.empty() ? p.comm : p.psargs;
    ps.cwd = p.cwd;
    ps.nfiles = static_cast<int>(p.fds.size());
    ps.nthreads = static_cast<int>(p.threads.size());
    s.processes.push_back(std::move(ps));
  }
  return s;
}

void remove(const std::string &statefile) { remove_statefile(statefile); }

void reseal(const std::string &statefile) { reseal_statefile(statefile); }

} // namespace cpr::engine
