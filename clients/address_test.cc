#include "clients/address.h"

#include "gtest/gtest.h"

namespace callbackledger {
namespace {

TEST(IsLoopbackHostPortTest, AcceptsLoopbackAddressesWithAPort) {
  EXPECT_TRUE(IsLoopbackHostPort("127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopbackHostPort("127.1.2.3:1"));
  EXPECT_TRUE(IsLoopbackHostPort("127.255.255.255:65535"));
  EXPECT_TRUE(IsLoopbackHostPort("127.0.0.1:0"));  // a server picks the port
  EXPECT_TRUE(IsLoopbackHostPort("localhost:50051"));
  EXPECT_TRUE(IsLoopbackHostPort("[::1]:50051"));
}

TEST(IsLoopbackHostPortTest, RefusesNamesThatOnlyStartLikeLoopback) {
  EXPECT_FALSE(IsLoopbackHostPort("127.evil.com:80"));
  EXPECT_FALSE(IsLoopbackHostPort("127.0.0.1.evil.com:80"));
  EXPECT_FALSE(IsLoopbackHostPort("localhost.evil.com:80"));
  EXPECT_FALSE(IsLoopbackHostPort("[::1].evil.com:80"));
  EXPECT_FALSE(IsLoopbackHostPort("127.0.0.1@evil.com:80"));
}

TEST(IsLoopbackHostPortTest, RefusesWhatIsNotAnAddressOfFourNumbersAndAPort) {
  EXPECT_FALSE(IsLoopbackHostPort("127.0.0.1"));        // no port
  EXPECT_FALSE(IsLoopbackHostPort("127.0.0.1:"));       // empty port
  EXPECT_FALSE(IsLoopbackHostPort("127.0.0.1:80a"));    // not a number
  EXPECT_FALSE(IsLoopbackHostPort("127.0.0.1:+80"));    // a sign
  EXPECT_FALSE(IsLoopbackHostPort("127.0.0.1:65536"));  // past the last port
  EXPECT_FALSE(IsLoopbackHostPort("127.0.0:80"));       // three numbers
  EXPECT_FALSE(IsLoopbackHostPort("127.0.0.1.1:80"));   // five
  EXPECT_FALSE(IsLoopbackHostPort("127.0..1:80"));      // an empty number
  EXPECT_FALSE(IsLoopbackHostPort("127.0.0.:80"));
  EXPECT_FALSE(IsLoopbackHostPort("127.0.0.256:80"));   // not a byte
  EXPECT_FALSE(IsLoopbackHostPort("127.0.0.0001:80"));  // four digits
  EXPECT_FALSE(IsLoopbackHostPort(":80"));
  EXPECT_FALSE(IsLoopbackHostPort(""));
}

TEST(IsLoopbackHostPortTest, RefusesOtherMachines) {
  EXPECT_FALSE(IsLoopbackHostPort("192.0.2.1:50051"));
  EXPECT_FALSE(IsLoopbackHostPort("0.0.0.0:50051"));  // every interface
  EXPECT_FALSE(IsLoopbackHostPort("[::]:50051"));
  EXPECT_FALSE(IsLoopbackHostPort("[::2]:50051"));
  EXPECT_FALSE(IsLoopbackHostPort("ledger:50051"));
  EXPECT_FALSE(IsLoopbackHostPort("128.0.0.1:50051"));
}

TEST(IsLoopbackTargetTest, AcceptsLoopbackWithOrWithoutAScheme) {
  EXPECT_TRUE(IsLoopbackTarget("127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopbackTarget("localhost:50051"));
  EXPECT_TRUE(IsLoopbackTarget("dns:///localhost:50051"));
  EXPECT_TRUE(IsLoopbackTarget("dns:127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopbackTarget("ipv4:127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopbackTarget("ipv4:127.0.0.1:50051,127.0.0.2:50051"));
  EXPECT_TRUE(IsLoopbackTarget("ipv6:[::1]:50051"));
  EXPECT_TRUE(IsLoopbackTarget("unix:/run/ledgerd.sock"));
  EXPECT_TRUE(IsLoopbackTarget("unix:///run/ledgerd.sock"));
  EXPECT_TRUE(IsLoopbackTarget("unix-abstract:ledgerd"));
}

TEST(IsLoopbackTargetTest, RefusesTargetsThatMayLeaveTheMachine) {
  EXPECT_FALSE(IsLoopbackTarget("127.evil.com:80"));
  EXPECT_FALSE(IsLoopbackTarget("dns:///127.evil.com:80"));
  EXPECT_FALSE(IsLoopbackTarget("dns://8.8.8.8/localhost:50051"));         // another resolver
  EXPECT_FALSE(IsLoopbackTarget("ipv4:127.0.0.1:50051,192.0.2.1:50051"));  // one of the list
  EXPECT_FALSE(IsLoopbackTarget("ipv4:127.0.0.1:50051,"));
  EXPECT_FALSE(IsLoopbackTarget("ledger.example.com:50051"));
  EXPECT_FALSE(IsLoopbackTarget("0.0.0.0:50051"));
  EXPECT_FALSE(IsLoopbackTarget("xds:///ledger"));
  EXPECT_FALSE(IsLoopbackTarget(""));
}

}  // namespace
}  // namespace callbackledger
