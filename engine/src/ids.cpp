#include "proc.hpp"

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <charconv>
#include <fmt/format.h>
#include <sstream>

namespace cpr::engine {

std::vector<pid_t> resolve_ids(const std::string &ids) {
  std::vector<pid_t> pids;
  std::istringstream in(ids);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::string number = item;
    if (auto colon = item.find(':'); colon != std::string::npos) {
      std::string type = item.substr(colon + 1);
      number = item.substr(0, colon);
      if (type != "PID")
        throw sdk::Error(fmt::format("Invalid argument: ID type '{}' in '{}' "
                                     "(this cpr takes PID)",
                                     type, item));
    }
    pid_t pid = 0;
    auto [end, ec] =
        std::from_chars(number.data(), number.data() + number.size(), pid);
    if (ec != std::errc() || end != number.data() + number.size() || pid <= 0)
      throw sdk::Error(fmt::format("Invalid argument: '{}' is not a process "
                                   "ID",
                                   item));
    std::string tgid = proc::stat(pid) ? proc::status_field(pid, "Tgid") : "";
    if (tgid.empty())
      throw sdk::Error(fmt::format("No such process: {}", pid));
    pid = std::stoi(tgid);
    if (std::find(pids.begin(), pids.end(), pid) == pids.end())
      pids.push_back(pid);
  }
  if (pids.empty())
    throw sdk::Error("No such process: the ID list '" + ids + "' is empty");
  return pids;
}

} // namespace cpr::engine
