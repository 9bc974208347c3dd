#include "bounded_archive.hpp"

#include <boost/archive/impl/archive_serializer_map.ipp>
#include <boost/archive/impl/basic_binary_iarchive.ipp>
#include <boost/archive/impl/basic_binary_iprimitive.ipp>

#include <stdexcept>

namespace cpr::engine {

BoundedArchive::BoundedArchive(std::istream &in, std::size_t limit)
    : Base(in, boost::archive::no_header), limit_(limit) {
  // The header is read only now that the limit is known.
  Base::init(0);
}

void BoundedArchive::check(std::size_t n) const {
  if (n > limit_)
    throw std::length_error("a length beyond the archive");
}

void BoundedArchive::load(std::string &s) {
  std::size_t len = 0;
  load(len);
  check(len);
  s.resize(len);
  if (len > 0)
    load_binary(s.data(), len);
}

void BoundedArchive::load_override(
    boost::serialization::collection_size_type &t) {
  Base::load_override(t);
  check(static_cast<std::size_t>(t));
}

} // namespace cpr::engine

namespace boost::archive {
template class basic_binary_iarchive<cpr::engine::BoundedArchive>;
template class basic_binary_iprimitive<cpr::engine::BoundedArchive,
                                       std::istream::char_type,
                                       std::istream::traits_type>;
template class binary_iarchive_impl<cpr::engine::BoundedArchive,
                                    std::istream::char_type,
                                    std::istream::traits_type>;
template class detail::archive_serializer_map<cpr::engine::BoundedArchive>;
} // namespace boost::archive
