// A handler's record is its own Boost.Serialization archive: the engine
// stores the bytes and never needs the handler's types.
#pragma once

#include <cpr/sdk/error.hpp>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include <sstream>
#include <string>

namespace cpr::sdk {

template <class T> std::string to_payload(const T &value) {
  std::ostringstream out;
  {
    boost::archive::binary_oarchive archive(out);
    archive << value;
  }
  return out.str();
}

template <class T> T from_payload(const std::string &bytes) {
  try {
    std::istringstream in(bytes);
    boost::archive::binary_iarchive archive(in);
    T value;
    archive >> value;
    return value;
  } catch (const std::exception &) {
    // Boost's words ("input stream error") say nothing to a user.
    throw Error("damaged statefile: a record cannot be read (malformed)");
  }
}

} // namespace cpr::sdk
