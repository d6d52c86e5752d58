#include "projections/rows.h"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

TEST(CallTotalsTest, HoursStartOnTheHourAlsoBefore1970) {
  const int64_t h = kCallTotalsHourMicros;
  EXPECT_EQ(CallTotalsHour(0), 0);
  EXPECT_EQ(CallTotalsHour(h - 1), 0);
  EXPECT_EQ(CallTotalsHour(h), h);
  EXPECT_EQ(CallTotalsHour(1'700'000'000'000'000), 1'699'999'200'000'000);
  EXPECT_EQ(CallTotalsHour(-1), -h);
  EXPECT_EQ(CallTotalsHour(-h), -h);
  EXPECT_EQ(CallTotalsHour(-h - 1), -2 * h);
}

TEST(CallTotalsTest, ValuesReadBackAndMergesAddUpPastInt64) {
  CallTotals big;
  big.calls = 3;
  big.duration_seconds = 120;
  big.cost_micros = absl::int128(std::numeric_limits<int64_t>::max()) * 3;
  big.uncollected_micros = -5;
  const std::string value = EncodeCallTotals(big);
  EXPECT_EQ(value.size(), 48u);
  CallTotals read;
  ASSERT_TRUE(DecodeCallTotals(value, &read));
  EXPECT_TRUE(read == big);

  std::string merged;
  ASSERT_TRUE(MergeCallTotals(std::nullopt, value, &merged));
  EXPECT_EQ(merged, value) << "no row counts as zero";
  ASSERT_TRUE(MergeCallTotals(value, value, &merged));
  ASSERT_TRUE(DecodeCallTotals(merged, &read));
  EXPECT_EQ(read.calls, 6u);
  EXPECT_EQ(read.duration_seconds, 240u);
  EXPECT_EQ(read.cost_micros, absl::int128(std::numeric_limits<int64_t>::max()) * 6);
  EXPECT_EQ(read.uncollected_micros, -10);

  EXPECT_FALSE(DecodeCallTotals(value.substr(1), &read));
  EXPECT_FALSE(MergeCallTotals(std::string_view("short"), value, &merged));
  EXPECT_FALSE(MergeCallTotals(value, value + "x", &merged));
}

// Records each row written; a merge adds to what is there, as RocksDB's merge does.
struct TotalsSink : RowSink {
  void Put(Cf cf, std::string_view key, std::string_view value) override {
    rows[{cf, std::string(key)}] = std::string(value);
  }
  void Delete(Cf cf, std::string_view key) override { rows.erase({cf, std::string(key)}); }
  void Merge(Cf cf, std::string_view key, std::string_view value) override {
    ++merges;
    auto [it, added] = rows.try_emplace({cf, std::string(key)});
    std::string merged;
    ASSERT_TRUE(MergeCallTotals(added ? std::nullopt : std::optional<std::string_view>(it->second),
                                value, &merged));
    it->second = merged;
  }
  std::map<std::pair<Cf, std::string>, std::string> rows;
  int merges = 0;
};

// A group's calls go to their extensions' hours, one merge per extension and hour.
TEST(CallTotalsTest, AGroupsCallsAreAddedToTheirExtensionsHoursOnceEach) {
  const int64_t h = kCallTotalsHourMicros;
  const int64_t base = 1'699'999'200'000'000;
  AppendedRows appended;
  auto add = [&](uint64_t callerid, const std::string& extension, int64_t started, int64_t cost) {
    store::v1::CallRow* call = appended.calls.Add();
    call->set_callerid_id(callerid);
    call->set_extension(extension);
    SetFromUnixMicros(started, call->mutable_started_at());
    call->set_sequence(static_cast<uint64_t>(appended.calls.size()));
    call->set_duration_seconds(10);
    call->set_cost_micros(cost);
    call->set_uncollected_micros(cost / 10);
  };
  add(1, "100", base, 1'000'000);
  add(2, "100", base + h - 1, 2'000'000);
  add(1, "100", base + h, 3'000'000);
  add(3, "200", base + 5, 4'000'000);
  TotalsSink sink;
  EmitAppended(appended, &sink);
  EXPECT_EQ(sink.merges, 3);  // extension 100: two hours; 200: one
  auto totals = [&](const std::string& prefix, int64_t hour) {
    CallTotals read;
    auto it = sink.rows.find({Cf::kCallTotals, CallTotalsKey(prefix, hour)});
    if (it != sink.rows.end()) {
      EXPECT_TRUE(DecodeCallTotals(it->second, &read));
    }
    return read;
  };
  CallTotals first = totals(CallKeyPrefixByExtension("100"), base);
  EXPECT_EQ(first.calls, 2u);
  EXPECT_EQ(first.duration_seconds, 20u);
  EXPECT_EQ(first.cost_micros, 3'000'000);
  EXPECT_EQ(first.uncollected_micros, 300'000);
  EXPECT_EQ(totals(CallKeyPrefixByExtension("100"), base + h).cost_micros, 3'000'000);
  EXPECT_EQ(totals(CallKeyPrefixByExtension("200"), base).calls, 1u);
  EXPECT_EQ(totals(CallKeyPrefixByExtension("200"), base).cost_micros, 4'000'000);
  // CallerIDs have no hours: their reports read their calls.
  for (const auto& [row, value] : sink.rows) {
    if (row.first == Cf::kCallTotals) {
      EXPECT_EQ(row.second[0], 'e');
    }
  }
  // Each call's rows are keyed by its prefix, start and sequence.
  EXPECT_EQ(sink.rows.count({Cf::kCalls, CallKeyByExtension("100", base + h - 1, 2)}), 1u);
  EXPECT_EQ(sink.rows.count({Cf::kCalls, CallKeyByCallerId(2, base + h - 1, 2)}), 1u);

  // The next group's calls of the same hour add to it.
  appended.Clear();
  add(1, "100", base + 7, 5'000'000);
  EmitAppended(appended, &sink);
  EXPECT_EQ(totals(CallKeyPrefixByExtension("100"), base).cost_micros, 8'000'000);
  EXPECT_EQ(totals(CallKeyPrefixByExtension("100"), base).calls, 3u);
}

}  // namespace
}  // namespace callbackledger
