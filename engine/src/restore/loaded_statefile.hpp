// A statefile read for a restart: its MANIFEST checked against its seal;
// its pages are checked as they are read.
#pragma once

#include "dispatch/registry.hpp"
#include "statefile/manifest.hpp"
#include "statefile/pages.hpp"

#include <cpr/sdk/handler.hpp>
#include <cpr/sdk/options.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <memory>
#include <string>
#include <vector>

namespace cpr::engine {

struct LoadedStatefile {
  std::string path;
  Manifest manifest;
  sdk::UniqueFd dir;
  std::unique_ptr<PageReader> pages;
  sdk::Options options; // the restart's, for its handlers
};

LoadedStatefile load_statefile(const std::string &path);

std::vector<pid_t> pids_of(const Manifest &m);

// What handlers are given for the records of `l`.
sdk::RestoreContext restore_context(const LoadedStatefile &l,
                                    const Registry &registry);

} // namespace cpr::engine
