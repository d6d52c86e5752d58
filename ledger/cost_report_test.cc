// GetCostReport (SPEC section 3): the settled calls by extension or CallerID, time ranges,
// late and uncollected calls, and pages.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/testing/calls_test_base.h"

namespace callbackledger {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// =======================================================================================
// GetCostReport

class CostReportTest : public CallsTest {
 protected:
  // Reserves and settles one call that started at `started`, on its own.
  v1::SettleResponse MakeCall(const std::string& reservation_id, const std::string& number,
                              const std::string& extension, const std::string& cost,
                              uint64_t duration_seconds, int64_t started,
                              const std::string& destination = "0041440000000") {
    v1::ReserveRequest reserve = ReserveAmount(reservation_id, number, "1");
    reserve.set_extension(extension);
    reserve.set_destination(destination);
    ReserveOk(reserve);
    v1::SettleRequest settle = SettleCost(reservation_id, cost, duration_seconds);
    *settle.mutable_started_at() = FromUnixMicros(started);
    absl::StatusOr<v1::SettleResponse> settled = Settle(settle);
    EXPECT_TRUE(settled.ok()) << settled.status();
    return settled.ok() ? *settled : v1::SettleResponse();
  }

  static v1::GetCostReportRequest ByExtension(const std::string& extension) {
    v1::GetCostReportRequest request;
    request.set_extension(extension);
    return request;
  }
  static v1::GetCostReportRequest ByCallerId(uint64_t id) {
    v1::GetCostReportRequest request;
    request.set_callerid_id(id);
    return request;
  }

  static std::vector<std::string> Ids(const v1::GetCostReportResponse& report) {
    std::vector<std::string> ids;
    for (const v1::CallRecord& call : report.calls()) ids.push_back(call.reservation_id());
    return ids;
  }
};

TEST_F(CostReportTest, ByExtensionAndByCallerId) {
  const int64_t t = kStartMicros - 3600 * kSecond;
  uint64_t a = AddCaller("0791234567", "100");
  uint64_t b = AddCaller("0791234568", "100");
  uint64_t c = AddCaller("0791234569", "100", "", kOtherExt);
  MakeCall("a1", "0791234567", kExt, "1", 60, t, "0041441111111");
  MakeCall("a2", "0791234567", kExt, "2.50", 150, t + 120 * kSecond);
  MakeCall("b1", "0791234568", kExt, "0.75", 30, t + 60 * kSecond);
  MakeCall("c1", "0791234569", kOtherExt, "5", 300, t + 30 * kSecond);
  // Reserved and released or still open: not calls.
  ReserveOk(ReserveAmount("open", "0791234567", "1"));
  ReserveOk(ReserveAmount("released", "0791234567", "1"));
  ASSERT_TRUE(Release("released").ok());

  absl::StatusOr<v1::GetCostReportResponse> report = Report(ByExtension(kExt));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), ElementsAre("a1", "b1", "a2"));  // by start time
  EXPECT_EQ(report->total_calls(), 3u);
  EXPECT_EQ(report->total_cost(), "4.25");
  EXPECT_EQ(report->total_duration_seconds(), 240u);
  EXPECT_EQ(Micros(report->total_uncollected()), 0);
  EXPECT_TRUE(report->next_page_token().empty());
  const v1::CallRecord& first = report->calls(0);
  EXPECT_EQ(first.callerid_id(), a);
  EXPECT_EQ(first.callback_number(), "0791234567");
  EXPECT_EQ(first.extension(), kExt);
  EXPECT_EQ(first.destination(), "0041441111111");
  EXPECT_EQ(TimeMicros(first.started_at()), t);
  EXPECT_EQ(first.duration_seconds(), 60u);
  EXPECT_EQ(first.cost(), "1.00");
  EXPECT_EQ(Micros(first.uncollected()), 0);
  EXPECT_EQ(first.node_id(), kNode);
  EXPECT_EQ(first.call_id(), "call-a1");
  EXPECT_FALSE(first.late());

  report = Report(ByCallerId(a));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), ElementsAre("a1", "a2"));
  EXPECT_EQ(report->total_calls(), 2u);
  EXPECT_EQ(report->total_cost(), "3.50");
  EXPECT_EQ(report->total_duration_seconds(), 210u);
  report = Report(ByCallerId(b));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), ElementsAre("b1"));
  report = Report(ByExtension(kOtherExt));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), ElementsAre("c1"));
  EXPECT_EQ(report->calls(0).callerid_id(), c);
  EXPECT_EQ(report->total_cost(), "5.00");

  // An extension and a CallerID of another extension; unknown; neither given.
  v1::GetCostReportRequest mismatch = ByCallerId(c);
  mismatch.set_extension(kExt);
  EXPECT_EQ(Report(mismatch).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Report(ByCallerId(999)).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Report(v1::GetCostReportRequest()).status().code(), absl::StatusCode::kInvalidArgument);
  report = Report(ByExtension("0009*999"));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->total_calls(), 0u);
  EXPECT_THAT(Ids(*report), IsEmpty());
}

TEST_F(CostReportTest, StartsAtTheReservationWhenTheNodeGivesNoStartTime) {
  AddCaller("0791234567", "10");
  Advance(42);
  const int64_t opened = Now();
  ReserveOk(ReserveAmount("r1", "0791234567", "1"));
  Advance(100);
  ASSERT_TRUE(Settle(SettleCost("r1", "0.50", 100)).ok());
  absl::StatusOr<v1::GetCostReportResponse> report = Report(ByExtension(kExt));
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->calls_size(), 1);
  EXPECT_EQ(TimeMicros(report->calls(0).started_at()), opened);
  EXPECT_EQ(report->calls(0).destination(), "0041441234567");  // the reservation's
}

TEST_F(CostReportTest, LateAndUncollectedCallsAreReported) {
  uint64_t id = AddCaller("0791234567", "1");
  ReserveOk(ReserveAmount("r1", "0791234567", "1", 60));
  Advance(61);
  ASSERT_TRUE(Expire().ok());
  v1::SettleRequest settle = SettleCost("r1", "1.50", 90);
  absl::StatusOr<v1::SettleResponse> settled = Settle(settle);
  ASSERT_TRUE(settled.ok()) << settled.status();
  absl::StatusOr<v1::GetCostReportResponse> report = Report(ByCallerId(id));
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->calls_size(), 1);
  EXPECT_TRUE(report->calls(0).late());
  EXPECT_EQ(report->calls(0).cost(), "1.00");
  EXPECT_EQ(report->calls(0).uncollected(), "0.50");
  EXPECT_EQ(report->total_cost(), "1.00");
  EXPECT_EQ(report->total_uncollected(), "0.50");
}

TEST_F(CostReportTest, TimeRangeIsStartInclusiveEndExclusive) {
  const int64_t t = kStartMicros - 3600 * kSecond;
  uint64_t a = AddCaller("0791234567", "100");
  uint64_t poor = AddCaller("0791234568", "1");
  MakeCall("m0", "0791234567", kExt, "1", 10, t);
  MakeCall("m1", "0791234568", kExt, "1.50", 20, t + 60 * kSecond);  // 0.50 uncollected
  MakeCall("m2", "0791234567", kExt, "3", 30, t + 120 * kSecond);
  MakeCall("m3", "0791234567", kExt, "4", 40, t + 180 * kSecond);

  v1::GetCostReportRequest request = ByExtension(kExt);
  *request.mutable_start_time() = FromUnixMicros(t + 60 * kSecond);
  *request.mutable_end_time() = FromUnixMicros(t + 180 * kSecond);
  absl::StatusOr<v1::GetCostReportResponse> report = Report(request);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), ElementsAre("m1", "m2"));
  EXPECT_EQ(report->total_calls(), 2u);
  EXPECT_EQ(report->total_cost(), "4.00");
  EXPECT_EQ(report->total_uncollected(), "0.50");
  EXPECT_EQ(report->total_duration_seconds(), 50u);

  v1::GetCostReportRequest from = ByExtension(kExt);
  *from.mutable_start_time() = FromUnixMicros(t + 61 * kSecond);
  report = Report(from);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), ElementsAre("m2", "m3"));
  EXPECT_EQ(report->total_cost(), "7.00");

  v1::GetCostReportRequest until = ByCallerId(a);
  *until.mutable_end_time() = FromUnixMicros(t + 120 * kSecond);
  report = Report(until);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), ElementsAre("m0"));
  EXPECT_EQ(report->total_calls(), 1u);

  v1::GetCostReportRequest only_poor = ByCallerId(poor);
  *only_poor.mutable_start_time() = FromUnixMicros(t);
  *only_poor.mutable_end_time() = FromUnixMicros(t + 60 * kSecond);
  report = Report(only_poor);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Ids(*report), IsEmpty());
  EXPECT_EQ(report->total_calls(), 0u);

  v1::GetCostReportRequest backwards = ByExtension(kExt);
  *backwards.mutable_start_time() = FromUnixMicros(t + 60 * kSecond);
  *backwards.mutable_end_time() = FromUnixMicros(t);
  EXPECT_EQ(Report(backwards).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CostReportTest, PagesCoverEveryCallOnceWithTotalsOverTheWholeRange) {
  const int64_t t = kStartMicros - 3600 * kSecond;
  uint64_t a = AddCaller("0791234567", "100");
  AddCaller("0791234568", "100");
  std::set<std::string> expected;
  int64_t total_cost = 0;
  for (int i = 0; i < 7; ++i) {
    std::string id = absl::StrCat("p", i);
    // Out of start order, and two calls (p0 and p4) starting at the same time.
    int64_t started = t + ((i * 5) % 7 % 6) * 60 * kSecond;
    MakeCall(id, i % 2 == 0 ? "0791234567" : "0791234568", kExt, absl::StrCat(i + 1), 10 * i,
             started);
    expected.insert(id);
    total_cost += (i + 1) * kSecond;
  }
  for (int page_size : {1, 3, 7, 100}) {
    v1::GetCostReportRequest request = ByExtension(kExt);
    request.set_page_size(page_size);
    std::vector<std::string> seen;
    int64_t previous_start = 0;
    int pages = 0;
    while (true) {
      absl::StatusOr<v1::GetCostReportResponse> report = Report(request);
      ASSERT_TRUE(report.ok()) << report.status();
      ++pages;
      ASSERT_LE(report->calls_size(), page_size);
      EXPECT_EQ(report->total_calls(), 7u);
      EXPECT_EQ(Micros(report->total_cost()), total_cost);
      EXPECT_EQ(report->total_duration_seconds(), 210u);
      for (const v1::CallRecord& call : report->calls()) {
        EXPECT_GE(TimeMicros(call.started_at()), previous_start);
        previous_start = TimeMicros(call.started_at());
        seen.push_back(call.reservation_id());
      }
      if (report->next_page_token().empty()) break;
      ASSERT_LT(pages, 20) << "paging does not end";
      request.set_page_token(report->next_page_token());
    }
    EXPECT_EQ(seen.size(), 7u) << "page_size " << page_size;
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), expected)
        << "page_size " << page_size;
    EXPECT_EQ(pages, (7 + page_size - 1) / page_size) << "page_size " << page_size;
  }

  // Paging one CallerID's report.
  v1::GetCostReportRequest request = ByCallerId(a);
  request.set_page_size(2);
  std::vector<std::string> seen;
  while (true) {
    absl::StatusOr<v1::GetCostReportResponse> report = Report(request);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->total_calls(), 4u);
    for (const v1::CallRecord& call : report->calls()) seen.push_back(call.reservation_id());
    if (report->next_page_token().empty()) break;
    ASSERT_LT(seen.size(), 10u);
    request.set_page_token(report->next_page_token());
  }
  EXPECT_THAT(seen, UnorderedElementsAre("p0", "p2", "p4", "p6"));

  // A token of another report, or a made-up one, is refused.
  v1::GetCostReportRequest first = ByExtension(kExt);
  first.set_page_size(1);
  absl::StatusOr<v1::GetCostReportResponse> page = Report(first);
  ASSERT_TRUE(page.ok()) << page.status();
  v1::GetCostReportRequest foreign = ByCallerId(a);
  foreign.set_page_token(page->next_page_token());
  EXPECT_EQ(Report(foreign).status().code(), absl::StatusCode::kInvalidArgument);
  v1::GetCostReportRequest made_up = ByExtension(kExt);
  made_up.set_page_token("bm90LWEtdG9rZW4");
  EXPECT_EQ(Report(made_up).status().code(), absl::StatusCode::kInvalidArgument);
  v1::GetCostReportRequest too_big = ByExtension(kExt);
  too_big.set_page_size(1001);
  EXPECT_EQ(Report(too_big).status().code(), absl::StatusCode::kInvalidArgument);
}

// The first page counts the range's totals and its token carries them: later pages read
// their own rows only. So a call settled into the range while the report is paged through
// shows on a later page (its start is after the page's end) but not in the totals, which
// stay those of the first page; a report asked for again counts it. A token is refused
// for another range of the same extension.
TEST_F(CostReportTest, LaterPagesCarryTheTotalsTheFirstPageCounted) {
  const int64_t t = kStartMicros - 3600 * kSecond;
  AddCaller("0791234567", "100");
  for (int i = 0; i < 3; ++i) {
    MakeCall(absl::StrCat("q", i), "0791234567", kExt, "1", 60, t + i * 60 * kSecond);
  }
  v1::GetCostReportRequest request = ByExtension(kExt);
  request.set_page_size(1);
  absl::StatusOr<v1::GetCostReportResponse> first = Report(request);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(Ids(*first), ElementsAre("q0"));
  EXPECT_EQ(first->total_calls(), 3u);
  ASSERT_FALSE(first->next_page_token().empty());

  MakeCall("q3", "0791234567", kExt, "2", 30, t + 10 * 60 * kSecond);

  std::vector<std::string> seen = Ids(*first);
  request.set_page_token(first->next_page_token());
  for (int pages = 1; !request.page_token().empty(); ++pages) {
    ASSERT_LT(pages, 10);
    absl::StatusOr<v1::GetCostReportResponse> page = Report(request);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->total_calls(), 3u);
    EXPECT_EQ(Micros(page->total_cost()), 3 * kSecond);
    EXPECT_EQ(page->total_duration_seconds(), 180u);
    for (const std::string& id : Ids(*page)) seen.push_back(id);
    request.set_page_token(page->next_page_token());
  }
  EXPECT_THAT(seen, ElementsAre("q0", "q1", "q2", "q3"));

  request.clear_page_token();
  absl::StatusOr<v1::GetCostReportResponse> again = Report(request);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->total_calls(), 4u);
  EXPECT_EQ(Micros(again->total_cost()), 5 * kSecond);

  v1::GetCostReportRequest other_range = ByExtension(kExt);
  *other_range.mutable_start_time() = FromUnixMicros(t + 60 * kSecond);
  other_range.set_page_token(first->next_page_token());
  EXPECT_EQ(Report(other_range).status().code(), absl::StatusCode::kInvalidArgument);
}

// A range's totals are the hours inside it (kept as the calls settle) and the calls of the
// hours at its two ends: whatever the range, aligned on hours or not, they are those of the
// calls that started in it, by extension and by CallerID, and still so after a restart.
TEST_F(CostReportTest, TotalsOfAnyRangeAreThoseOfTheCallsStartedInIt) {
  const int64_t hour = kCallTotalsHourMicros;
  const int64_t base = CallTotalsHour(kStartMicros) - 6 * hour;
  struct Made {
    uint64_t callerid;
    std::string extension;
    int64_t started;
    int64_t cost_micros;
    int64_t uncollected_micros;
    uint64_t duration;
  };
  std::vector<Made> made;
  const uint64_t a = AddCaller("0791234567", "1000");
  const uint64_t b = AddCaller("0791234568", "1000", "", "201");
  const uint64_t poor = AddCaller("0791234569", "5");
  // On the hours, a microsecond either side of them, and between; two CallerIDs of
  // extension kExt and one of extension 201. The last call of `poor` (2.00 each, from 5.00)
  // leaves 1.00 uncollected.
  const int64_t offsets[] = {
      0,        1,        hour - 1,     hour,          hour + 1,     2 * hour + 17,
      3 * hour, 3 * hour, 4 * hour - 1, 5 * hour + 42, 5 * hour + 43};
  int n = 0;
  for (int64_t offset : offsets) {
    const int who = n % 3;
    const uint64_t id = who == 0 ? a : who == 1 ? b : poor;
    const std::string number = who == 0 ? "0791234567" : who == 1 ? "0791234568" : "0791234569";
    const std::string extension = who == 1 ? "201" : kExt;
    const int64_t cents = who == 2 ? 200 : (n + 1) * 50;  // 0.50, 1.00, ...
    const v1::SettleResponse settled =
        MakeCall(absl::StrCat("h", n), number, extension,
                 absl::StrFormat("%d.%02d", cents / 100, cents % 100), 10 + n, base + offset);
    ASSERT_EQ(settled.reservation_id(), absl::StrCat("h", n));
    // A call's cost is what was charged: what the node asked, less what was not collected.
    made.push_back({id, extension, base + offset, Micros(settled.cost()),
                    Micros(settled.uncollected()), static_cast<uint64_t>(10 + n)});
    EXPECT_EQ(made.back().cost_micros + made.back().uncollected_micros, cents * (kSecond / 100));
    ++n;
  }
  ASSERT_EQ(made[8].uncollected_micros, kSecond);

  const int64_t bounds[] = {0,
                            base,
                            base + 1,
                            base + hour - 1,
                            base + hour,
                            base + hour + 1,
                            base + 3 * hour,
                            base + 4 * hour - 1,
                            base + 5 * hour + 43,
                            base + 6 * hour};
  auto check = [&](const std::string& what) {
    for (int64_t start : bounds) {
      for (int64_t end : bounds) {
        if (end < start) continue;
        for (int by = 0; by < 4; ++by) {
          v1::GetCostReportRequest request = by == 0   ? ByExtension(kExt)
                                             : by == 1 ? ByExtension("201")
                                             : by == 2 ? ByCallerId(a)
                                                       : ByCallerId(poor);
          *request.mutable_start_time() = FromUnixMicros(start);
          *request.mutable_end_time() = FromUnixMicros(end);
          request.set_page_size(1);
          uint64_t calls = 0;
          uint64_t duration = 0;
          int64_t cost = 0;
          int64_t uncollected = 0;
          for (const Made& call : made) {
            const bool ours = by == 0   ? call.extension == kExt
                              : by == 1 ? call.extension == "201"
                              : by == 2 ? call.callerid == a
                                        : call.callerid == poor;
            if (!ours || call.started < start || call.started >= end) continue;
            ++calls;
            duration += call.duration;
            cost += call.cost_micros;
            uncollected += call.uncollected_micros;
          }
          absl::StatusOr<v1::GetCostReportResponse> report = Report(request);
          ASSERT_TRUE(report.ok()) << report.status();
          SCOPED_TRACE(
              absl::StrCat(what, ": report ", by, " from ", start - base, " to ", end - base));
          EXPECT_EQ(report->total_calls(), calls);
          EXPECT_EQ(report->total_duration_seconds(), duration);
          EXPECT_EQ(Micros(report->total_cost()), cost);
          EXPECT_EQ(Micros(report->total_uncollected()), uncollected);
          EXPECT_EQ(report->calls_size(), calls == 0 ? 0 : 1);
          EXPECT_EQ(report->next_page_token().empty(), calls <= 1);
        }
      }
    }
  };
  ASSERT_NO_FATAL_FAILURE(check("as settled"));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_NO_FATAL_FAILURE(check("after a restart"));
  ASSERT_NO_FATAL_FAILURE(ExpectProjectionsVerify());
}

}  // namespace
}  // namespace callbackledger
