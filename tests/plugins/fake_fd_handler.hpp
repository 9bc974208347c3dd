// An fd handler for the fake plugins: it claims what its predicate accepts
// and saves, as its payload, what it was handed (the tests read it back from
// the manifest to see which open file went to which handler). It restores
// any record as a fresh open of /dev/null.
#pragma once

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/handler.hpp>

#include <fcntl.h>
#include <functional>
#include <sstream>
#include <string>
#include <utility>

namespace cpr::fake {

struct Handed {
  pid_t pid = 0;
  int fd = -1;
  unsigned flags = 0;
  std::string path;
};

inline std::string handed_payload(const sdk::OpenFile &file) {
  std::ostringstream out;
  out << file.pid << ' ' << file.fd << ' ' << file.flags << ' ' << file.path;
  return out.str();
}

inline Handed handed_from(const std::string &payload) {
  Handed handed;
  std::istringstream in(payload);
  in >> handed.pid >> handed.fd >> handed.flags;
  in.ignore(1);
  std::getline(in, handed.path);
  return handed;
}

class RecordingFdHandler final : public sdk::FdHandler {
public:
  using Claims = std::function<bool(const sdk::OpenFile &)>;
  RecordingFdHandler(std::string kind, unsigned version, int priority,
                     Claims claims)
      : kind_(std::move(kind)), version_(version), priority_(priority),
        claims_(std::move(claims)) {}

  std::string kind() const override { return kind_; }
  unsigned version() const override { return version_; }
  int claim_priority() const override { return priority_; }
  bool claims(const sdk::OpenFile &file) const override {
    return claims_(file);
  }
  sdk::Saved save(const sdk::OpenFile &file,
                  sdk::SaveContext &) const override {
    return {handed_payload(file), kind_ + ": " + file.path};
  }
  int open(const sdk::Record &, sdk::RestoreContext &) const override {
    int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0)
      sdk::throw_errno(kind_ + ": cannot open /dev/null", errno);
    return fd;
  }

private:
  std::string kind_;
  unsigned version_;
  int priority_;
  Claims claims_;
};

} // namespace cpr::fake
