#include "server/parse_errors.h"

#include "callbackledger/v1/calls.grpc.pb.h"
#include "gtest/gtest.h"

namespace callbackledger {
namespace {

TEST(RequestTypeOf, NamesTheRequestOfOurMethodsOnly) {
  (void)v1::ReserveRequest::descriptor();  // linked in
  EXPECT_EQ(RequestTypeOf("/callbackledger.v1.Calls/Reserve"), "callbackledger.v1.ReserveRequest");
  EXPECT_EQ(RequestTypeOf("/callbackledger.v1.Calls/NoSuchMethod"), "");
  EXPECT_EQ(RequestTypeOf("/grpc.health.v1.Health/Check"), "");
  EXPECT_EQ(RequestTypeOf("/callbackledger.v1.Calls"), "");
  EXPECT_EQ(RequestTypeOf(nullptr), "");
}

}  // namespace
}  // namespace callbackledger
