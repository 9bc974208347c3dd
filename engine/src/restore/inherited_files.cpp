// Fds inherited from an ancestor (see inherited_files.hpp).
#include "restore/inherited_files.hpp"
#include "restore/fd_limit.hpp"
#include "restore/no_pages.hpp"
#include "trust/acting_as.hpp"

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

namespace cpr::engine {

InheritedFiles::InheritedFiles(const std::vector<TreeNode> &nodes,
                               const Registry &registry)
    : nodes_(nodes), registry_(registry) {}

InheritedFiles::~InheritedFiles() { close_opened_by_cpr(); }

void InheritedFiles::find_shared_files() {
  std::map<ObjectKey, int> holders;
  for (const TreeNode &n : nodes_) {
    std::set<std::uint64_t> held;
    for (const FdRef &ref : n.p.record->fds) {
      park_fds_from_ = std::max(park_fds_from_, ref.fd + 1);
      held.insert(ref.object);
    }
    for (std::uint64_t id : held)
      ++holders[{n.p.manifest, id}];
  }
  for (const auto &[key, count] : holders)
    if (count > 1)
      shared_files_.insert(key);
}

void InheritedFiles::open_before_fork() {
  allow_all_fds();
  for (const TreeNode &n : nodes_)
    for (const FdRef &ref : n.p.record->fds) {
      const ObjectRecord &rec = n.p.manifest->object(ref.object);
      if (registry_.fd_handler(rec.kind, rec.version).open_before_fork())
        ::close(open_in_cpr(n.p, ref.object));
    }
}

int InheritedFiles::open_in_cpr(const PlannedProcess &pp, std::uint64_t id) {
  ObjectKey key{pp.manifest, id};
  if (!opened_above_.count(key)) {
    const ObjectRecord &rec = pp.manifest->object(id);
    NoPages no_pages;
    sdk::RestoreContext ctx = restore_context(pp.statefile, no_pages);
    ctx.open_file = [this, &pp](std::uint64_t other) {
      return open_in_cpr(pp, other);
    };
    int fd;
    {
      ActingAs as(pp.record->creds);
      fd = registry_.fd_handler(rec.kind, rec.version)
               .open({rec.kind, rec.version, rec.payload}, ctx);
    }
    // Opening it may have opened it already (a socket in flight on itself).
    if (opened_above_.count(key)) {
      ::close(fd);
    } else {
      int parked = ::fcntl(fd, F_DUPFD_CLOEXEC, park_fds_from_);
      int err = errno;
      ::close(fd);
      if (parked < 0)
        sdk::throw_errno(
            fmt::format("process {}: object {}", pp.record->pid, id), err);
      opened_above_[key] = parked;
      opened_by_cpr_.push_back(parked);
    }
  }
  int fd = ::fcntl(opened_above_.at(key), F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    sdk::throw_errno("cannot open an object again", errno);
  return fd;
}

void InheritedFiles::close_opened_by_cpr() {
  for (int fd : opened_by_cpr_)
    ::close(fd);
  opened_by_cpr_.clear();
}

void InheritedFiles::open_shared_files(int index) {
  std::vector<int> subtree{index};
  for (size_t k = 0; k < subtree.size(); ++k)
    for (int c : nodes_[subtree[k]].children)
      subtree.push_back(c);
  allow_all_fds();
  for (int i : subtree) {
    const PlannedProcess &pp = nodes_[i].p;
    for (const FdRef &ref : pp.record->fds) {
      ObjectKey key{pp.manifest, ref.object};
      if (!shared_files_.count(key) || opened_above_.count(key))
        continue;
      const ObjectRecord &rec = pp.manifest->object(ref.object);
      NoPages no_pages;
      sdk::RestoreContext ctx = restore_context(pp.statefile, no_pages);
      ActingAs as(pp.record->creds);
      int fd = registry_.fd_handler(rec.kind, rec.version)
                   .open({rec.kind, rec.version, rec.payload}, ctx);
      int parked = ::fcntl(fd, F_DUPFD_CLOEXEC, park_fds_from_);
      if (parked < 0)
        sdk::throw_errno(
            fmt::format("process {} fd {}", pp.record->pid, ref.fd), errno);
      ::close(fd);
      opened_above_[key] = parked;
    }
  }
}

std::map<std::uint64_t, int>
InheritedFiles::opened_for(const Manifest *manifest) const {
  std::map<std::uint64_t, int> mine;
  for (const auto &[key, fd] : opened_above_)
    if (key.first == manifest)
      mine[key.second] = fd;
  return mine;
}

int InheritedFiles::parked(const Manifest *manifest, std::uint64_t id) const {
  auto it = opened_above_.find({manifest, id});
  return it == opened_above_.end() ? -1 : it->second;
}

sdk::RestoreContext
InheritedFiles::restore_context(const std::string &statefile,
                                sdk::PageSource &pages) const {
  return {
      .statefile = statefile, .pages = pages, .sessions = registry_.sessions()};
}

} // namespace cpr::engine
