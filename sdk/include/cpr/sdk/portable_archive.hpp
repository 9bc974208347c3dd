// The archives of every record and of the MANIFEST: Boost.Serialization's
// class versions, written in a form tied neither to the CPU's byte order
// and sizes nor to Boost's own archive format (docs/statefile.md).
// Integers are little-endian base-128 varints (signed ones zigzagged),
// strings and byte runs are length-prefixed, and the archive begins with a
// signature of cpr's own. Reading is bounded: no length or count may exceed
// the bytes left, so a hostile count cannot make it allocate gigabytes.
#pragma once

#include <boost/archive/basic_archive.hpp>
#include <boost/archive/detail/common_iarchive.hpp>
#include <boost/archive/detail/common_oarchive.hpp>
#include <boost/archive/detail/register_archive.hpp>
#include <boost/serialization/collection_size_type.hpp>
#include <boost/serialization/item_version_type.hpp>

#include <bit>
#include <climits>
#include <cstdint>
#include <limits>
#include <streambuf>
#include <string>
#include <type_traits>

namespace cpr::sdk {

// The integer under one of Boost's own strong typedefs (their base_type is
// private).
template <class T> auto strong_base() {
  namespace a = boost::archive;
  namespace s = boost::serialization;
  if constexpr (std::is_base_of_v<a::class_id_type, T>)
    return std::int_least16_t{};
  else if constexpr (std::is_base_of_v<a::object_id_type, T> ||
                     std::is_same_v<T, a::version_type>)
    return std::uint_least32_t{};
  else if constexpr (std::is_same_v<T, s::library_version_type>)
    return std::uint_least16_t{};
  else if constexpr (std::is_same_v<T, s::item_version_type>)
    return 0u;
  else if constexpr (std::is_same_v<T, s::collection_size_type>)
    return std::size_t{};
}
template <class T> using StrongBase = decltype(strong_base<T>());

// The signature and revision an archive begins with.
inline constexpr char portable_signature[] = "cpr-archive";
inline constexpr unsigned portable_revision = 1;

class PortableOArchive
    : public boost::archive::detail::common_oarchive<PortableOArchive> {
  using Base = boost::archive::detail::common_oarchive<PortableOArchive>;
  friend class boost::archive::detail::interface_oarchive<PortableOArchive>;
  friend class boost::archive::detail::common_oarchive<PortableOArchive>;
  friend class boost::archive::save_access;

public:
  explicit PortableOArchive(std::streambuf &out);

  template <class T> void save(const T &t) {
    if constexpr (std::is_same_v<T, bool>)
      put_unsigned(t ? 1 : 0);
    else if constexpr (std::is_floating_point_v<T>)
      put_unsigned(
          std::bit_cast<
              std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>(
              t));
    else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>)
      put_signed(t);
    else if constexpr (std::is_integral_v<T>)
      put_unsigned(t);
    else if constexpr (std::is_enum_v<T>)
      put_signed(static_cast<std::int64_t>(t));
    else // Boost's own strong typedefs (version_type, class_id_type ...)
      save(static_cast<StrongBase<T>>(t));
  }
  void save(const boost::archive::tracking_type &t) { save(bool(t)); }
  void save(const std::string &s);
  void save(const boost::archive::class_name_type &t);
  void save_binary(const void *address, std::size_t count);

  // Not written, as Boost's binary archives do not.
  void save_override(const boost::archive::class_id_optional_type &) {}
  template <class T> void save_override(const T &t) { Base::save_override(t); }

private:
  void put_unsigned(std::uint64_t v);
  void put_signed(std::int64_t v);
  void put_bytes(const void *p, std::size_t n);
  std::streambuf &out_;
};

class PortableIArchive
    : public boost::archive::detail::common_iarchive<PortableIArchive> {
  using Base = boost::archive::detail::common_iarchive<PortableIArchive>;
  friend class boost::archive::detail::interface_iarchive<PortableIArchive>;
  friend class boost::archive::detail::common_iarchive<PortableIArchive>;
  friend class boost::archive::load_access;

public:
  // `limit`: the bytes `in` holds. Throws if they do not begin with the
  // signature, or with a revision newer than this one reads.
  PortableIArchive(std::streambuf &in, std::size_t limit);

  template <class T> void load(T &t) {
    if constexpr (std::is_same_v<T, bool>)
      t = get_unsigned(1) != 0;
    else if constexpr (std::is_floating_point_v<T>) {
      using Bits =
          std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
      t = std::bit_cast<T>(static_cast<Bits>(get_unsigned(~Bits{0})));
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>)
      t = static_cast<T>(get_signed(std::numeric_limits<T>::min(),
                                    std::numeric_limits<T>::max()));
    else if constexpr (std::is_integral_v<T>)
      t = static_cast<T>(get_unsigned(std::numeric_limits<T>::max()));
    else if constexpr (std::is_enum_v<T>)
      t = static_cast<T>(get_signed(INT32_MIN, INT32_MAX));
    else {
      StrongBase<T> &base = t;
      load(base);
    }
  }
  void load(boost::archive::tracking_type &t);
  void load(std::string &s);
  void load(boost::archive::class_name_type &t);
  void load_binary(void *address, std::size_t count);

  void load_override(boost::archive::class_id_optional_type &) {}
  void load_override(boost::serialization::collection_size_type &t);
  template <class T> void load_override(T &t) { Base::load_override(t); }

private:
  std::uint64_t get_unsigned(std::uint64_t max);
  std::int64_t get_signed(std::int64_t min, std::int64_t max);
  void get_bytes(void *p, std::size_t n);
  void check_length(std::uint64_t n) const;
  std::streambuf &in_;
  std::size_t left_;
};

} // namespace cpr::sdk

BOOST_SERIALIZATION_REGISTER_ARCHIVE(cpr::sdk::PortableOArchive)
BOOST_SERIALIZATION_REGISTER_ARCHIVE(cpr::sdk::PortableIArchive)
