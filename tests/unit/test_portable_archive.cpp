#include <cpr/sdk/error.hpp>
#include <cpr/sdk/payload.hpp>
#include <cpr/sdk/portable_archive.hpp>

#include <boost/serialization/map.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

using namespace cpr;

namespace {

struct Record {
  std::int64_t small = -1, big = std::numeric_limits<std::int64_t>::min();
  std::uint64_t mask = ~std::uint64_t{0};
  std::string text = "pipe:[1234]";
  std::vector<std::uint8_t> bytes{0, 127, 128, 255};
  std::map<std::string, int> named{{"a", 1}, {"b", -2}};
  bool flag = true;
  double ratio = 0.5;
  template <class A> void serialize(A &ar, unsigned) {
    ar &small &big &mask &text &bytes &named &flag &ratio;
  }
};

std::string bytes_of(std::initializer_list<int> list) {
  std::string s;
  for (int b : list)
    s.push_back(static_cast<char>(b));
  return s;
}

} // namespace

TEST_CASE("Portable archive: what it writes is the same on every CPU") {
  // The signature, the revision, then 300 as a varint: ac 02.
  CHECK(sdk::to_payload(std::uint32_t{300}) ==
        bytes_of({11}) + "cpr-archive" + bytes_of({1, 0xac, 0x02}));
  // Signed numbers are zigzagged: -1 is 1, 1 is 2.
  CHECK(sdk::to_payload(std::int32_t{-1}).substr(13) == bytes_of({1}));
  CHECK(sdk::to_payload(std::int32_t{1}).substr(13) == bytes_of({2}));
}

TEST_CASE("Portable archive: records come back as they were") {
  Record in;
  in.small = -7;
  in.ratio = 1.25;
  Record out = sdk::from_payload<Record>(sdk::to_payload(in));
  CHECK(out.small == -7);
  CHECK(out.big == std::numeric_limits<std::int64_t>::min());
  CHECK(out.mask == ~std::uint64_t{0});
  CHECK(out.text == "pipe:[1234]");
  CHECK(out.bytes == std::vector<std::uint8_t>{0, 127, 128, 255});
  CHECK(out.named == std::map<std::string, int>{{"a", 1}, {"b", -2}});
  CHECK(out.flag);
  CHECK(out.ratio == 1.25);
}

TEST_CASE("Portable archive: lengths beyond the input and values out of "
          "range are refused") {
  std::string payload = sdk::to_payload(std::string("x"));
  // A string length of 2^40 where one byte follows: refused, not allocated.
  std::string huge = payload.substr(0, 13) +
                     bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x20}) + "x";
  CHECK_THROWS_WITH(sdk::from_payload<std::string>(huge),
                    Catch::Contains("damaged statefile"));
  // 300 does not fit an 8-bit number.
  std::string wide = sdk::to_payload(std::uint32_t{300});
  CHECK_THROWS_AS(sdk::from_payload<std::uint8_t>(wide), sdk::Error);
  // Another archive's bytes.
  CHECK_THROWS_AS(sdk::from_payload<std::uint32_t>("22 serialization::archive"),
                  sdk::Error);
}
