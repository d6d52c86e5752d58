// Whether an address reaches this machine only. Plaintext carries a token, and ledgerd
// serves without TLS, only to such addresses; ledger-bench loads nothing else. The checks
// parse the address rather than look at its first characters: "127.evil.com:80" is a name
// that any resolver may send anywhere, so it is not loopback.
#ifndef CALLBACKLEDGER_CLIENTS_ADDRESS_H_
#define CALLBACKLEDGER_CLIENTS_ADDRESS_H_

#include <string>

namespace callbackledger {

// Whether `address` is a loopback host:port: an IPv4 address of 127.0.0.0/8 written as four
// numbers (127.0.0.1:50051), localhost:50051 or [::1]:50051, with a port of 0 to 65535
// (0: a server picks one).
// A name that only starts like one ("127.evil.com:80") is not.
bool IsLoopbackHostPort(const std::string& address);

// Whether the gRPC target `target` reaches this machine only: a loopback host:port, bare or
// after "dns:", "dns:///", "ipv4:" or "ipv6:" (every address of an ipv4:/ipv6: list), or a
// unix socket ("unix:", "unix-abstract:").
bool IsLoopbackTarget(const std::string& target);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_CLIENTS_ADDRESS_H_
