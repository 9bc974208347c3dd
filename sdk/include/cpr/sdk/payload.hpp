// A handler's record is its own Boost.Serialization archive, in cpr's
// portable form (portable_archive.hpp): the engine stores the bytes and
// never needs the handler's types.
#pragma once

#include <cpr/sdk/error.hpp>

#include <cpr/sdk/portable_archive.hpp>

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include <sstream>
#include <string>

namespace cpr::sdk {

template <class T> std::string to_payload(const T &value) {
  std::stringbuf out;
  {
    PortableOArchive archive(out);
    archive << value;
  }
  return out.str();
}

template <class T> T from_payload(const std::string &bytes) {
  try {
    std::stringbuf in(bytes);
    PortableIArchive archive(in, bytes.size());
    T value;
    archive >> value;
    return value;
  } catch (const std::exception &) {
    // Boost's words ("input stream error") say nothing to a user.
    throw Error(Code::damaged_statefile,
                "damaged statefile: a record cannot be read (malformed)");
  }
}

} // namespace cpr::sdk
