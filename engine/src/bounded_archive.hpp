// A binary input archive that refuses any collection count or string
// length greater than the bytes it reads from: a hostile count could
// otherwise make Boost allocate (and zero) gigabytes before it finds the
// input short.
#pragma once

#include <boost/archive/binary_iarchive_impl.hpp>
#include <boost/serialization/array_optimization.hpp>
#include <boost/serialization/collection_size_type.hpp>

#include <istream>
#include <string>

namespace cpr::engine {

class BoundedArchive
    : public boost::archive::binary_iarchive_impl<
          BoundedArchive, std::istream::char_type, std::istream::traits_type> {
  using Base = boost::archive::binary_iarchive_impl<
      BoundedArchive, std::istream::char_type, std::istream::traits_type>;
  friend class boost::archive::detail::interface_iarchive<BoundedArchive>;
  friend class boost::archive::basic_binary_iarchive<BoundedArchive>;
  friend class boost::archive::load_access;

public:
  // `limit`: the size of what `in` holds.
  BoundedArchive(std::istream &in, std::size_t limit);

  using Base::load;
  void load(std::string &s);
  template <class T> void load_override(T &t) { Base::load_override(t); }
  void load_override(boost::serialization::collection_size_type &t);

private:
  void check(std::size_t n) const;
  std::size_t limit_;
};

} // namespace cpr::engine

BOOST_SERIALIZATION_USE_ARRAY_OPTIMIZATION(cpr::engine::BoundedArchive)
