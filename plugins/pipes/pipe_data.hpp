// The bytes in a pipe, read without taking them out, and put back.
#pragma once

#include <cpr/sdk/handler.hpp>
#include <cpr/sdk/unique_fd.hpp>

#include <cstdint>
#include <string>

namespace cpr::pipes {

using Fd = sdk::UniqueFd;

// Everything in the pipe `reader` reads from, left in it (tee into a pipe
// of cpr's as big). `what` names the pipe in errors.
std::string peek_all(int reader, const std::string &what);

// Makes the pipe of `fd` hold `capacity` bytes, then writes `data` into
// `writer` (it fits: it fitted before).
void set_capacity(int fd, std::uint32_t capacity, const std::string &what);
void put_data(int writer, const std::string &data, const std::string &what);

// "process 12 fd 3 (pipe:[4567])", for messages.
std::string describe(const sdk::OpenFile &file);

} // namespace cpr::pipes
