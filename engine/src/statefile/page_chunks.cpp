// The buffers chunks of pages move through (see page_chunks.hpp).
#include "statefile/page_chunks.hpp"
#include "statefile/pages.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace cpr::engine {

Buffer make_buffer(std::size_t size) {
  size = (size + page_size - 1) / page_size * page_size;
  void *p = std::aligned_alloc(4096, size);
  if (!p)
    throw std::bad_alloc();
  std::memset(p, 0, size);
  return Buffer(static_cast<char *>(p));
}

} // namespace cpr::engine
