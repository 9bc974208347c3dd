#include <cpr/sdk/sparse_copy.hpp>

#include <cpr/sdk/error.hpp>

#include <algorithm>
#include <cerrno>
#include <unistd.h>
#include <vector>

namespace cpr::sdk {
namespace {

void copy_with_read_write(int from, int to, off_t at, off_t len,
                          const std::string &what) {
  std::vector<char> buf(1 << 20);
  while (len > 0) {
    ssize_t n =
        ::pread(from, buf.data(),
                static_cast<size_t>(std::min<off_t>(len, buf.size())), at);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw_errno("cannot copy " + what, errno);
    if (n == 0)
      return; // it became shorter meanwhile
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::pwrite(to, buf.data() + done, static_cast<size_t>(n - done),
                           at + done);
      if (w < 0 && errno != EINTR)
        throw_errno("cannot copy " + what, errno);
      done += w < 0 ? 0 : w;
    }
    at += n;
    len -= n;
  }
}

void copy_range(int from, int to, off_t at, off_t len,
                const std::string &what) {
  off_t in = at, out = at;
  while (len > 0) {
    ssize_t n =
        ::copy_file_range(from, &in, to, &out, static_cast<size_t>(len), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                  errno == EOPNOTSUPP))
      return copy_with_read_write(from, to, in, len, what);
    if (n < 0)
      throw_errno("cannot copy " + what, errno);
    if (n == 0)
      return;
    len -= n;
  }
}

} // namespace

void copy_sparse(int from, int to, off_t size, const std::string &what) {
  if (::ftruncate(to, size) != 0)
    throw_errno("cannot copy " + what, errno);
  for (off_t at = 0; at < size;) {
    off_t data = ::lseek(from, at, SEEK_DATA);
    if (data < 0 && errno == ENXIO)
      break;
    off_t hole = data < 0 ? -1 : ::lseek(from, data, SEEK_HOLE);
    if (hole < 0)
      throw_errno("cannot read " + what, errno);
    copy_range(from, to, data, std::min(hole, size) - data, what);
    at = hole;
  }
}

} // namespace cpr::sdk
