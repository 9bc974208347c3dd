#include "process/proc.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <climits>
#include <csignal>
#include <filesystem>
#include <fmt/format.h>
#include <sstream>
#include <unistd.h>

namespace cpr::engine::proc {
namespace fs = std::filesystem;

namespace {
std::string dir(pid_t pid) { return "/proc/" + std::to_string(pid); }

template <class T> std::vector<T> numeric_entries(const std::string &path) {
  std::vector<T> out;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(path, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.empty() && std::all_of(name.begin(), name.end(),
                                     [](char c) { return isdigit(c); }))
      out.push_back(static_cast<T>(std::stol(name)));
  }
  std::sort(out.begin(), out.end());
  return out;
}
} // namespace

std::optional<Stat> stat(pid_t pid) {
  auto text = sdk::try_read_file(dir(pid) + "/stat");
  if (!text)
    return std::nullopt;
  Stat s;
  // The command name may hold spaces and parentheses: it ends at the last ')'.
  auto open = text->find('('), close = text->rfind(')');
  s.comm = text->substr(open + 1, close - open - 1);
  s.fields = {text->substr(0, open - 1), s.comm};
  std::istringstream rest(text->substr(close + 2));
  std::string f;
  while (rest >> f)
    s.fields.push_back(f);
  s.state = s.fields.at(2).at(0);
  return s;
}

std::string status_field(pid_t pid, const std::string &key) {
  std::istringstream in(sdk::read_file(dir(pid) + "/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      auto v = line.find_first_not_of(" \t", key.size() + 1);
      return v == std::string::npos ? "" : line.substr(v);
    }
  return "";
}

std::string readlink(const std::string &path) {
  char buf[PATH_MAX + 1];
  ssize_t n = ::readlink(path.c_str(), buf, PATH_MAX);
  if (n < 0)
    sdk::throw_errno("cannot read link " + path, errno);
  return std::string(buf, static_cast<size_t>(n));
}

std::vector<pid_t> threads(pid_t pid) {
  return numeric_entries<pid_t>(dir(pid) + "/task");
}

std::vector<pid_t> children(pid_t pid) {
  std::vector<pid_t> out;
  for (pid_t tid : threads(pid)) {
    auto text = sdk::try_read_file(dir(pid) + "/task/" + std::to_string(tid) +
                                   "/children");
    std::istringstream in(text.value_or(""));
    pid_t child;
    while (in >> child)
      out.push_back(child);
  }
  return out;
}

std::vector<int> fds(pid_t pid) {
  return numeric_entries<int>(dir(pid) + "/fd");
}

std::string cmdline(pid_t pid) {
  std::string text = sdk::try_read_file(dir(pid) + "/cmdline").value_or("");
  while (!text.empty() && text.back() == '\0')
    text.pop_back();
  std::replace(text.begin(), text.end(), '\0', ' ');
  return text;
}

pid_t inner_pid(const std::string &status_dir) {
  auto text = sdk::try_read_file(status_dir + "/status");
  std::istringstream in(text.value_or(""));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("NSpid:", 0) == 0) {
      std::istringstream ids(line.substr(6));
      pid_t id = 0, last = 0;
      while (ids >> id)
        last = id;
      return last;
    }
  return 0;
}

bool pid_in_use(pid_t pid) {
  auto exists = [](pid_t id) { return ::kill(id, 0) == 0 || errno == EPERM; };
  return exists(pid) || (pid > 1 && exists(-pid)) ||
         ::access(dir(pid).c_str(), F_OK) == 0;
}

pid_t child_with_inner_pid(pid_t parent, pid_t inner) {
  for (pid_t child : children(parent))
    if (inner_pid(dir(child)) == inner)
      return child;
  throw sdk::Error(fmt::format("other fatal failure: process {} did not "
                               "come up",
                               inner));
}

pid_t task_with_inner_tid(pid_t pid, pid_t inner) {
  for (pid_t tid : threads(pid))
    if (inner_pid(dir(pid) + "/task/" + std::to_string(tid)) == inner)
      return tid;
  throw sdk::Error(fmt::format("other fatal failure: thread {} did not come "
                               "up",
                               inner));
}

} // namespace cpr::engine::proc
