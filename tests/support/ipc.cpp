#include "support/ipc.hpp"

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace cpr_test {
namespace {

const char *table_name(Ipc kind) {
  switch (kind) {
  case Ipc::shm:
    return "shm";
  case Ipc::sem:
    return "sem";
  case Ipc::msg:
    return "msg";
  }
  return "?";
}

std::vector<std::string> words(const std::string &line) {
  std::istringstream in(line);
  std::vector<std::string> all;
  for (std::string word; in >> word;)
    all.push_back(word);
  return all;
}

std::optional<Mapping> parse_mapping(const std::string &line) {
  std::istringstream in(line);
  Mapping m;
  std::string offset;
  if (!(in >> m.range >> m.perms >> offset >> m.device >> m.inode))
    return std::nullopt;
  std::getline(in >> std::ws, m.path);
  m.text = line;
  return m;
}

} // namespace

int IpcRow::id() const {
  for (const char *name : {"shmid", "semid", "msqid"})
    if (auto found = columns.find(name); found != columns.end())
      return std::stoi(found->second);
  throw HarnessError("a /proc/sysvipc row without an id: " + describe());
}

key_t IpcRow::key() const { return static_cast<key_t>(number("key")); }

long long IpcRow::number(const std::string &column) const {
  auto found = columns.find(column);
  if (found == columns.end())
    throw HarnessError("no column " + column + " in " + describe());
  return std::stoll(found->second);
}

unsigned IpcRow::perms() const {
  return static_cast<unsigned>(std::stoul(columns.at("perms"), nullptr, 8));
}

std::string IpcRow::describe() const {
  std::string text;
  for (const auto &[name, value] : columns)
    text += fmt::format("{}{}={}", text.empty() ? "" : " ", name, value);
  return text;
}

std::vector<IpcRow> ipc_rows(Ipc kind) {
  std::ifstream in(fmt::format("/proc/sysvipc/{}", table_name(kind)));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header = words(line);
  std::vector<IpcRow> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> values = words(line);
    if (values.size() != header.size())
      continue;
    IpcRow row;
    for (std::size_t i = 0; i < header.size(); ++i)
      row.columns[header[i]] = values[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

std::optional<IpcRow> ipc_by_key(Ipc kind, key_t key) {
  for (auto &row : ipc_rows(kind))
    if (row.key() == key)
      return row;
  return std::nullopt;
}

std::optional<IpcRow> ipc_by_id(Ipc kind, int id) {
  for (auto &row : ipc_rows(kind))
    if (row.id() == id)
      return row;
  return std::nullopt;
}

bool remove_ipc(Ipc kind, int id) {
  switch (kind) {
  case Ipc::shm:
    return shmctl(id, IPC_RMID, nullptr) == 0;
  case Ipc::sem:
    return semctl(id, 0, IPC_RMID) == 0;
  case Ipc::msg:
    return msgctl(id, IPC_RMID, nullptr) == 0;
  }
  return false;
}

key_t key_of_this_run(int slot) {
  if (slot < 0 || slot > 31)
    throw HarnessError(fmt::format("key slot {} out of 0..31", slot));
  // PIDs take up to 22 bits; 0x40000000 keeps the key positive and away from
  // the small keys programs pick by hand.
  auto pid = static_cast<unsigned>(getpid()) & 0x3fffffu;
  return static_cast<key_t>(0x40000000u | pid << 6 |
                            static_cast<unsigned>(slot) << 1);
}

std::vector<Mapping> mappings_of(pid_t pid, std::string_view prefix) {
  std::ifstream in(fmt::format("/proc/{}/maps", pid));
  std::vector<Mapping> found;
  for (std::string line; std::getline(in, line);) {
    auto m = parse_mapping(line);
    if (m && m->path.starts_with(prefix))
      found.push_back(std::move(*m));
  }
  return found;
}

std::vector<std::string> lines_of(const std::vector<Mapping> &mappings) {
  std::vector<std::string> lines;
  for (const auto &m : mappings)
    lines.push_back(m.text);
  return lines;
}

bool maps_file(pid_t pid, const fs::path &path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    return false;
  std::string device =
      fmt::format("{:02x}:{:02x}", major(st.st_dev), minor(st.st_dev));
  for (const auto &m : mappings_of(pid))
    if (m.device == device && m.inode == st.st_ino)
      return true;
  return false;
}

IpcGuard::~IpcGuard() {
  try {
    for (const auto &[kind, key] : keys_)
      for (const auto &row : ipc_rows(kind))
        if (row.key() == key)
          remove_ipc(kind, row.id());
  } catch (const std::exception &) { // a table we cannot read: by id then
  }
  for (const auto &[kind, id] : ids_)
    remove_ipc(kind, id);
  std::error_code ignored;
  for (const auto &path : files_)
    fs::remove(path, ignored);
}

} // namespace cpr_test
