#include "server/arena_requests.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "callbackledger/v1/calls.pb.h"

namespace callbackledger {
namespace {

using Allocator = ArenaRequests<v1::ReserveRequest, v1::ReserveResponse>;

struct ReleaseHolder {
  void operator()(grpc::MessageHolder<v1::ReserveRequest, v1::ReserveResponse>* holder) const {
    holder->Release();
  }
};

std::unique_ptr<grpc::MessageHolder<v1::ReserveRequest, v1::ReserveResponse>, ReleaseHolder>
Allocate(Allocator* allocator) {
  return {allocator->AllocateMessages(), ReleaseHolder()};
}

v1::ReserveRequest Reserve(std::string destination) {
  v1::ReserveRequest request;
  request.set_reservation_id("pbx-1-call-000000001");
  request.set_extension("100");
  request.set_callback_number("+40721000001");
  request.set_amount("0.50");
  request.mutable_rate()->set_price_per_minute("0.60");
  request.set_node_id("pbx-1");
  request.set_destination(std::move(destination));
  return request;
}

TEST(ArenaRequestsTest, TheRequestIsParsedOntoAnArenaTheResponseIsNot) {
  Allocator allocator;
  auto holder = Allocate(&allocator);
  ASSERT_NE(holder->request()->GetArena(), nullptr);
  EXPECT_EQ(holder->response()->GetArena(), nullptr);
  const v1::ReserveRequest sent = Reserve("+40212000000");
  ASSERT_TRUE(holder->request()->ParseFromString(sent.SerializeAsString()));
  EXPECT_EQ(holder->request()->SerializeAsString(), sent.SerializeAsString());
  EXPECT_EQ(holder->request()->rate().price_per_minute(), "0.60");
}

TEST(ArenaRequestsTest, ARequestBiggerThanTheHoldersRoomParsesWhole) {
  Allocator allocator;
  auto holder = Allocate(&allocator);
  const std::string destination(4 * Allocator::kInlineBytes, '7');
  const v1::ReserveRequest sent = Reserve(destination);
  ASSERT_TRUE(holder->request()->ParseFromString(sent.SerializeAsString()));
  EXPECT_EQ(holder->request()->destination(), destination);
  EXPECT_EQ(holder->request()->reservation_id(), "pbx-1-call-000000001");
}

TEST(ArenaRequestsTest, AnAnswerBuiltOnTheHeapMovesInWithoutACopy) {
  // The Ledger builds the response apart and moves it in (FinishLater): on the same (no)
  // arena that is a swap, which leaves the built one empty.
  Allocator allocator;
  auto holder = Allocate(&allocator);
  v1::ReserveResponse built;
  built.set_reservation_id("pbx-1-call-000000001");
  built.set_granted_amount("0.50");
  *holder->response() = std::move(built);
  EXPECT_EQ(holder->response()->granted_amount(), "0.50");
  EXPECT_EQ(built.reservation_id(), "");  // NOLINT(bugprone-use-after-move): swapped out
}

TEST(ArenaRequestsTest, EachRpcGetsHoldersOfItsOwn) {
  Allocator allocator;
  auto first = Allocate(&allocator);
  auto second = Allocate(&allocator);
  EXPECT_NE(first->request(), second->request());
  EXPECT_NE(first->request()->GetArena(), second->request()->GetArena());
  first->request()->set_node_id("pbx-1");
  EXPECT_EQ(second->request()->node_id(), "");
}

}  // namespace
}  // namespace callbackledger
