#include "projections/rows.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

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

store::v1::CallRow Call(uint64_t duration, int64_t cost, int64_t uncollected) {
  store::v1::CallRow row;
  row.set_sequence(42);
  row.set_reservation_id("pbx-1-call-0000000042-with-a-long-id");
  row.set_callerid_id(7);
  row.set_extension("100");
  row.set_callback_number("+407210000007");
  row.set_destination("0041440000000");
  *row.mutable_started_at() = FromUnixMicros(1'700'000'000'123'456);
  row.set_duration_seconds(duration);
  row.set_cost_micros(cost);
  row.set_uncollected_micros(uncollected);
  row.set_node_id("pbx-1");
  row.set_call_id("call-42");
  row.set_late(true);
  return row;
}

TEST(CallAmountsTest, ReadsWhatAFullParseReads) {
  const std::vector<store::v1::CallRow> rows = {
      Call(61, 610'000, 0), Call(0, 0, 0), Call(86'400, std::numeric_limits<int64_t>::max(), 1),
      Call(1, -5, -7),  // the sign survives (no stored call has one)
      store::v1::CallRow(),
  };
  for (const store::v1::CallRow& row : rows) {
    CallAmounts amounts;
    amounts.cost_micros = 99;  // replaced, even by a row with no amounts
    ASSERT_TRUE(ReadCallAmounts(row.SerializeAsString(), &amounts)) << row.ShortDebugString();
    EXPECT_EQ(amounts.duration_seconds, row.duration_seconds());
    EXPECT_EQ(amounts.cost_micros, row.cost_micros());
    EXPECT_EQ(amounts.uncollected_micros, row.uncollected_micros());
  }
}

TEST(CallAmountsTest, RefusesWhatIsNotAWholeMessage) {
  const std::string value = Call(61, 610'000, 0).SerializeAsString();
  CallAmounts amounts;
  for (size_t cut : {size_t{1}, size_t{5}, value.size() / 2, value.size() - 1}) {
    store::v1::CallRow parsed;
    if (parsed.ParseFromString(value.substr(0, cut))) continue;  // a cut between fields
    EXPECT_FALSE(ReadCallAmounts(value.substr(0, cut), &amounts)) << "cut at " << cut;
  }
  EXPECT_FALSE(ReadCallAmounts("\xff\xff\xff\xff", &amounts));
}

TEST(OrderedInt64Test, ReadsBackWhatItWroteAndSortsLikeTheNumbers) {
  const std::vector<int64_t> values = {
      std::numeric_limits<int64_t>::min(), -1'000'000, -1, 0, 1, 1'700'000'000'000'000,
      std::numeric_limits<int64_t>::max()};
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(ReadOrderedInt64(OrderedInt64(values[i])), values[i]);
    if (i > 0) {
      EXPECT_LT(OrderedInt64(values[i - 1]), OrderedInt64(values[i]));
    }
  }
}

}  // namespace
}  // namespace callbackledger
