// The buffers chunks of pages move through (see page_chunks.hpp).
#include "statefile/page_chunks.hpp"
#include "statefile/pages.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace cpr::engine {

Buffer make_buffer() {
  void *p = std::aligned_alloc(4096, buffer_size);
  if (!p)
    throw std::bad_alloc();
  std::memset(p, 0, buffer_size);
  return Buffer(static_cast<char *>(p));
}

} // namespace cpr::engine
