#include <cpr/sdk/portable_archive.hpp>

#include <boost/archive/archive_exception.hpp>
#include <boost/archive/impl/archive_serializer_map.ipp>
#include <boost/serialization/string.hpp>

#include <cstring>
#include <limits>

namespace cpr::sdk {
namespace {

// The Boost archive library version the readers of these archives assume,
// fixed so that what they read never depends on the Boost they run with.
constexpr unsigned pinned_library_version = 18;

[[noreturn]] void malformed() {
  throw boost::archive::archive_exception(
      boost::archive::archive_exception::input_stream_error);
}

} // namespace

PortableOArchive::PortableOArchive(std::streambuf &out)
    : Base(boost::archive::no_header), out_(out) {
  save(std::string(portable_signature));
  save(portable_revision);
}

void PortableOArchive::put_bytes(const void *p, std::size_t n) {
  if (out_.sputn(static_cast<const char *>(p),
                 static_cast<std::streamsize>(n)) !=
      static_cast<std::streamsize>(n))
    throw boost::archive::archive_exception(
        boost::archive::archive_exception::output_stream_error);
}

void PortableOArchive::put_unsigned(std::uint64_t v) {
  unsigned char bytes[10];
  std::size_t n = 0;
  do {
    bytes[n] = static_cast<unsigned char>(v & 0x7f);
    v >>= 7;
    if (v)
      bytes[n] |= 0x80;
    ++n;
  } while (v);
  put_bytes(bytes, n);
}

void PortableOArchive::put_signed(std::int64_t v) {
  put_unsigned((static_cast<std::uint64_t>(v) << 1) ^
               static_cast<std::uint64_t>(v >> 63));
}

void PortableOArchive::save(const std::string &s) {
  put_unsigned(s.size());
  put_bytes(s.data(), s.size());
}

void PortableOArchive::save(const boost::archive::class_name_type &t) {
  save(std::string(static_cast<const char *>(t)));
}

void PortableOArchive::save_binary(const void *address, std::size_t count) {
  put_unsigned(count);
  put_bytes(address, count);
}

PortableIArchive::PortableIArchive(std::streambuf &in, std::size_t limit)
    : Base(boost::archive::no_header), in_(in), left_(limit) {
  set_library_version(
      boost::serialization::library_version_type(pinned_library_version));
  std::string signature;
  load(signature);
  unsigned revision = 0;
  load(revision);
  if (signature != portable_signature || revision > portable_revision)
    throw boost::archive::archive_exception(
        boost::archive::archive_exception::invalid_signature);
}

void PortableIArchive::check_length(std::uint64_t n) const {
  if (n > left_)
    malformed();
}

void PortableIArchive::get_bytes(void *p, std::size_t n) {
  check_length(n);
  if (in_.sgetn(static_cast<char *>(p), static_cast<std::streamsize>(n)) !=
      static_cast<std::streamsize>(n))
    malformed();
  left_ -= n;
}

std::uint64_t PortableIArchive::get_unsigned(std::uint64_t max) {
  std::uint64_t v = 0;
  for (unsigned shift = 0;; shift += 7) {
    unsigned char byte = 0;
    get_bytes(&byte, 1);
    if (shift > 63 || (shift == 63 && (byte & 0x7e)))
      malformed();
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80))
      break;
  }
  if (v > max)
    malformed();
  return v;
}

std::int64_t PortableIArchive::get_signed(std::int64_t min, std::int64_t max) {
  std::uint64_t z = get_unsigned(std::numeric_limits<std::uint64_t>::max());
  auto v = static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
  if (v < min || v > max)
    malformed();
  return v;
}

void PortableIArchive::load(boost::archive::tracking_type &t) {
  bool b = false;
  load(b);
  t = b;
}

void PortableIArchive::load(std::string &s) {
  std::uint64_t n = get_unsigned(std::numeric_limits<std::uint64_t>::max());
  check_length(n);
  s.resize(n);
  if (n)
    get_bytes(s.data(), n);
}

void PortableIArchive::load(boost::archive::class_name_type &t) {
  std::string name;
  load(name);
  if (name.size() >= BOOST_SERIALIZATION_MAX_KEY_SIZE)
    malformed();
  std::memcpy(static_cast<char *>(t), name.c_str(), name.size() + 1);
}

void PortableIArchive::load_binary(void *address, std::size_t count) {
  if (get_unsigned(std::numeric_limits<std::uint64_t>::max()) != count)
    malformed();
  get_bytes(address, count);
}

void PortableIArchive::load_override(
    boost::serialization::collection_size_type &t) {
  Base::load_override(t);
  check_length(static_cast<std::size_t>(t));
}

} // namespace cpr::sdk

namespace boost::archive::detail {
template class archive_serializer_map<cpr::sdk::PortableOArchive>;
template class archive_serializer_map<cpr::sdk::PortableIArchive>;
} // namespace boost::archive::detail
