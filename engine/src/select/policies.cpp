// Which attribute blocks apply to a checkpoint, in which precedence, and
// what they decide (see attributes.hpp).
#include "select/attributes.hpp"

#include "select/attribute_words.hpp"
#include "trust/privilege.hpp"

#include <algorithm>
#include <cstdlib>
#include <fnmatch.h>
#include <pwd.h>
#include <tuple>
#include <unistd.h>

namespace cpr::engine {
namespace {

// How specifically a block names one of `items`: 2 by IDtype and IDvalue,
// 1 by IDvalue (`* VALUE`), 0 for `* *`; nullopt if it does not apply.
std::optional<int> specificity(const AttributeBlock &b, const IdList &ids) {
  if (b.id_type == "*" && b.id_value == "*")
    return 0;
  for (const Id &id : ids.items()) {
    const std::string_view type = id_type_name(id.type);
    if (b.id_type != "*" && b.id_type != type)
      continue;
    if (canonical_id(type, b.id_value) == canonical_id(id))
      return b.id_type == "*" ? 1 : 2;
  }
  return std::nullopt;
}

std::string home_directory() {
  // Installed setuid, the caller's $HOME could name any directory for cpr
  // to read: the password database says where the caller's home is.
  const char *home = run_setuid() ? nullptr : std::getenv("HOME");
  if (home && *home)
    return home;
  if (const passwd *pw = ::getpwuid(::getuid()); pw && pw->pw_dir)
    return pw->pw_dir;
  return "";
}

} // namespace

std::vector<std::string> attribute_files() {
  std::vector<std::string> files{"/etc/cpr_proto"};
  if (std::string home = home_directory(); !home.empty())
    files.push_back(home + "/.cpr");
  return files;
}

Policies::Policies(std::vector<AttributeBlock> blocks)
    : blocks_(std::move(blocks)) {}

std::optional<Will> Policies::will() const {
  for (const auto &b : blocks_)
    if (b.will)
      return b.will;
  return std::nullopt;
}

DirPolicy Policies::cdir() const {
  for (const auto &b : blocks_)
    if (b.cdir)
      return *b.cdir;
  return DirPolicy::replace;
}

DirPolicy Policies::rdir() const {
  for (const auto &b : blocks_)
    if (b.rdir)
      return *b.rdir;
  return DirPolicy::replace;
}

Fork Policies::fork() const {
  for (const auto &b : blocks_)
    if (b.fork)
      return *b.fork;
  return Fork::original;
}

IpcPolicy Policies::ipc() const {
  for (const auto &b : blocks_)
    if (b.ipc)
      return *b.ipc;
  return IpcPolicy::used;
}

FileDisposition Policies::disposition(const std::string &path) const {
  for (const auto &b : blocks_) {
    for (const FileRule &rule : b.files)
      if (::fnmatch(rule.pattern.c_str(), path.c_str(), 0) == 0)
        return rule.action;
    if (b.file_default)
      return *b.file_default;
  }
  return FileDisposition::merge;
}

std::string Policies::policy(const std::string &directive,
                             const std::string &subject) const {
  if (directive != "FILE")
    return "";
  FileDisposition d = disposition(subject);
  for (const auto &k : file_actions)
    if (k.value == d)
      return std::string(k.name);
  return "";
}

Policies policies_for(const IdList &ids,
                      std::span<const std::vector<AttributeBlock>> files) {
  // (specificity, file, block), sorted strongest first.
  std::vector<std::tuple<int, size_t, size_t>> ranked;
  for (size_t f = 0; f < files.size(); ++f)
    for (size_t b = 0; b < files[f].size(); ++b)
      if (auto level = specificity(files[f][b], ids))
        ranked.emplace_back(*level, f, b);
  std::sort(ranked.rbegin(), ranked.rend());
  std::vector<AttributeBlock> strongest_first;
  for (auto [level, f, b] : ranked)
    strongest_first.push_back(files[f][b]);
  return Policies(std::move(strongest_first));
}

Policies load_policies(const IdList &ids,
                       const std::vector<std::string> &files) {
  std::vector<std::vector<AttributeBlock>> blocks;
  for (const std::string &path : files)
    blocks.push_back(read_attribute_file(path));
  return policies_for(ids, blocks);
}

Will decide_will(std::optional<Will> command_line, const Policies &policies) {
  return command_line ? *command_line : policies.will().value_or(Will::exit);
}

Fork decide_fork(Fork command_line, std::span<const Fork> statefiles) {
  bool any = command_line == Fork::any ||
             std::find(statefiles.begin(), statefiles.end(), Fork::any) !=
                 statefiles.end();
  return any ? Fork::any : Fork::original;
}

const char *will_name(Will will) { return keyword_name(will_actions, will); }

const char *fork_name(Fork fork) { return keyword_name(fork_actions, fork); }

const char *dir_policy_name(DirPolicy policy) {
  return keyword_name(dir_actions, policy);
}

} // namespace cpr::engine
