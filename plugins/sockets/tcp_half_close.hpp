// TCP connections half-closed or closing (FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT,
// LAST_ACK, CLOSING): repaired as established, then the FINs are put where
// they were. Ours is queued by shutdown() in repair mode; the peer's, and
// its ACK of ours, are packets sent to the socket in the peer's name (as
// CRIU's libsoccr does).
#pragma once

#include "records.hpp"

namespace cpr::sockets {

// A state cpr carries.
bool carried_state(int state);

// The FIN is not a byte of data: the queue lengths read at checkpoint are
// given without it.
void leave_out_fin(int state, int &outq, int &unsent);

// The sequence numbers to repair the connection with, as if established.
std::uint32_t recv_seq_before_fin(const TcpSocket &rec);
std::uint32_t send_seq_before_fin(const TcpSocket &rec);
// And its window, where the peer's FIN is yet to come.
void window_before_fin(const TcpSocket &rec, std::uint32_t &rcv_wup,
                       std::uint32_t &rcv_wnd);

// Once every socket of the set is made and its packets can pass: the FINs
// and ACKs that take the repaired connection `fd` to its saved state.
void put_fins_back(int fd, const TcpSocket &rec, const std::string &what);

} // namespace cpr::sockets
