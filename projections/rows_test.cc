#include "projections/rows.h"

#include <string>

#include "gtest/gtest.h"

namespace callbackledger {
namespace {

CallerIdState WithPin() {
  CallerIdState c;
  c.id = 7;
  c.extension = "100";
  c.callback_number = "+407210000007";
  c.pin_salt = "salt-salt-salt-salt";
  c.pin_hash = "hash-hash-hash-hash-hash-hash-hash";
  c.total_credit_micros = 5'000'000;
  c.credit_left_micros = 4'000'000;
  c.held_micros = 1'000'000;
  c.created_at_micros = 1'700'000'000'000'001;
  c.updated_at_micros = 1'700'000'000'000'002;
  c.order_no = "order-7";
  c.failed_pin_attempts = 2;
  c.open_reservations = 1;
  return c;
}

CallerIdState WithoutPin() {
  CallerIdState c;
  c.id = 8;
  c.extension = "200";
  c.callback_number = "+407210000008";
  c.status = v1::CallerId::DISABLED;
  c.unlimited = true;
  c.created_at_micros = 1'700'000'000'000'003;
  c.updated_at_micros = 1'700'000'000'000'003;
  return c;
}

TEST(CallerIdRowTest, AReusedRowSerializesLikeAFreshOne) {
  // A rebuild fills one row message for every CallerID: what an earlier CallerID set (its
  // PIN, its order number, its counters) must not stay in the next one's row.
  store::v1::CallerIdRow reused;
  for (const CallerIdState& callerid : {WithPin(), WithoutPin(), WithPin()}) {
    ToRow(callerid, &reused);
    EXPECT_EQ(reused.SerializeAsString(), ToRow(callerid).SerializeAsString());
    CallerIdState back = FromRow(reused);
    EXPECT_EQ(back.id, callerid.id);
    EXPECT_EQ(back.pin_hash, callerid.pin_hash);
    EXPECT_EQ(back.order_no, callerid.order_no);
    EXPECT_EQ(back.failed_pin_attempts, callerid.failed_pin_attempts);
    EXPECT_EQ(back.status, callerid.status);
    EXPECT_EQ(back.updated_at_micros, callerid.updated_at_micros);
  }
  ToRow(WithoutPin(), &reused);
  EXPECT_FALSE(reused.has_pin());
  EXPECT_EQ(reused.order_no(), "");
  EXPECT_EQ(reused.held_micros(), 0);
}

}  // namespace
}  // namespace callbackledger
