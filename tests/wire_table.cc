#include "tests/wire_table.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/calls.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "callbackledger/v1/reports.pb.h"
#include "tests/wire_call.h"

namespace callbackledger {
namespace e2e {
namespace {

using grpc::StatusCode;

constexpr size_t kServerMessageLimit = 1 << 20;  // ledgerd's --max_request_bytes default
constexpr uint64_t kUint64Max = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kMinusOne = kUint64Max;  // int32/int64 -1 on the wire

// `base` changed by `change`, serialized.
template <typename Message, typename Change>
std::string With(Message base, Change change) {
  change(base);
  return base.SerializeAsString();
}

// Amounts the API refuses: too big for int64 micros, exponents, too many decimals, signs
// alone, whitespace, separators, other notations.
// clang-format off
const char* const kBadAmounts[] = {"99999999999999999999", "9223372036854.775808", "1e400",
                                   "0.0000001", "-", "", " 1", "1 ", "1,5", "+-1", "0x10",
                                   "NaN"};
// clang-format on

std::vector<Row> CallerIdsRows(const WireSetup& setup) {
  const std::string add = "CallerIds/AddCallerId";
  v1::AddCallerIdRequest a;
  a.set_extension("0100");
  a.set_callback_number("5559999");
  a.set_initial_credit("1");
  const StatusCode bad = StatusCode::INVALID_ARGUMENT;
  std::vector<Row> rows = {
      {add, "empty request", "", bad, "extension"},
      {add, "no extension", With(a, [](auto& r) { r.clear_extension(); }), bad, "extension"},
      {add, "no callback_number", With(a, [](auto& r) { r.clear_callback_number(); }), bad,
       "callback_number"},
      {add, "512 KiB extension",
       With(a, [](auto& r) { r.set_extension(std::string(512 << 10, '1')); }), bad, "extension"},
      {add, "33-character extension",
       With(a, [](auto& r) { r.set_extension(std::string(33, '1')); }), bad, "extension"},
      {add, "status 99",
       With(a, [](auto& r) { r.set_status(static_cast<v1::CallerId::Status>(99)); }), bad,
       "status"},
      {add, "status -1",
       With(a, [](auto& r) { r.set_status(static_cast<v1::CallerId::Status>(-1)); }), bad,
       "status"},
      {add, "3-digit pin", With(a, [](auto& r) { r.set_pin("123"); }), bad, "pin"},
      {add, "letters in pin", With(a, [](auto& r) { r.set_pin("12a45"); }), bad, "pin"},
      {add, "unlimited with initial_credit", With(a, [](auto& r) { r.set_unlimited(true); }), bad,
       "initial_credit"},
      {add, "negative initial_credit", With(a, [](auto& r) { r.set_initial_credit("-1"); }), bad,
       "initial_credit"},
      {add, "order_no of 65 bytes", With(a, [](auto& r) { r.set_order_no(std::string(65, 'o')); }),
       bad, "order_no"},
      {add, "control character in order_no", With(a, [](auto& r) { r.set_order_no("a\nb"); }), bad,
       "order_no"},
      {add, "request_id of 129 bytes",
       With(a, [](auto& r) { r.set_request_id(std::string(129, 'r')); }), bad, "request_id"},
      {add, "order_no just under the message limit",
       With(a, [](auto& r) { r.set_order_no(std::string(kServerMessageLimit - 1024, 'o')); }), bad,
       "order_no"},
  };
  for (const char* amount : kBadAmounts) {
    if (*amount == '\0') continue;  // an empty initial_credit means none
    rows.push_back({add, absl::StrCat("initial_credit \"", amount, "\""),
                    With(a, [&](auto& r) { r.set_initial_credit(amount); }), bad,
                    "initial_credit"});
  }

  const std::string update = "CallerIds/UpdateCallerId";
  v1::UpdateCallerIdRequest u;
  u.set_callerid_id(setup.callerid_id);
  u.set_order_no("changed");
  rows.insert(
      rows.end(),
      {{update, "empty request", "", bad, "callerid_id"},
       {update, "no callerid_id", With(u, [](auto& r) { r.clear_callerid_id(); }), bad,
        "callerid_id"},
       {update, "callerid_id and id differ",
        With(u, [](auto& r) { r.set_id(r.callerid_id() + 1); }), bad, "callerid_id"},
       {update, "nothing to change", With(u, [](auto& r) { r.clear_order_no(); }), bad,
        "nothing to change"},
       {update, "status 3",
        With(u, [](auto& r) { r.set_status(static_cast<v1::CallerId::Status>(3)); }), bad,
        "status"},
       {update, "status unset explicitly",
        With(u, [](auto& r) { r.set_status(v1::CallerId::STATUS_UNSPECIFIED); }), bad, "status"},
       {update, "empty callback_number", With(u, [](auto& r) { r.set_callback_number(""); }), bad,
        "callback_number"},
       {update, "512 KiB order_no",
        With(u, [](auto& r) { r.set_order_no(std::string(512 << 10, 'o')); }), bad, "order_no"},
       {update, "unknown callerid_id",
        With(u, [](auto& r) { r.set_callerid_id(r.callerid_id() + 999); }), StatusCode::NOT_FOUND,
        "callerid_id"},
       {update, "huge callerid_id", With(u, [](auto& r) { r.set_callerid_id(kUint64Max); }),
        StatusCode::NOT_FOUND, "callerid_id"}});
  return rows;
}

std::vector<Row> CallerIdsReadRows(const WireSetup& setup) {
  const StatusCode bad = StatusCode::INVALID_ARGUMENT;
  const std::string remove = "CallerIds/RemoveCallerIds";
  const std::string get = "CallerIds/GetCallerId";
  const std::string list = "CallerIds/ListCallerIds";
  v1::RemoveCallerIdsRequest too_many;
  for (uint64_t id = 1; id <= 1001; ++id) too_many.add_callerid_ids(id);
  v1::GetCallerIdRequest g;
  g.set_callerid_id(setup.callerid_id);
  v1::ListCallerIdsRequest l;
  l.set_extension("0100");
  std::vector<Row> rows = {
      {remove, "empty request", "", bad, "callerid_ids"},
      {remove, "id 0", VarintField(1, 0), bad, "callerid_ids"},
      {remove, "1001 ids", too_many.SerializeAsString(), bad, "callerid_ids"},
      {remove, "unknown id", VarintField(1, setup.callerid_id + 999), StatusCode::NOT_FOUND,
       "callerid"},
      {get, "empty request", "", bad, "callerid_id"},
      {get, "callerid_id sent as a string (other wire type: ignored)", LengthField(1, "7"), bad,
       "callerid_id"},
      {get, "callerid_id and id differ", With(g, [](auto& r) { r.set_id(r.callerid_id() + 1); }),
       bad, "callerid_id"},
      {get, "extension without callback_number",
       With(v1::GetCallerIdRequest(), [](auto& r) { r.set_extension("0100"); }), bad,
       "callback_number"},
      {get, "callerid_id with another CallerID's callback_number",
       With(g,
            [](auto& r) {
              r.set_extension("0100");
              r.set_callback_number("5550002");
            }),
       bad, "callback_number"},
      {get, "callerid_id with another extension", With(g, [](auto& r) { r.set_extension("0200"); }),
       bad, "extension"},
      {get, "callerid_id with a malformed extension",
       With(g, [](auto& r) { r.set_extension("01 00"); }), bad, "extension"},
      {get, "unknown callerid_id", With(g, [](auto& r) { r.set_callerid_id(kUint64Max); }),
       StatusCode::NOT_FOUND, "callerid_id"},
      {list, "page_size -1", With(l, [](auto& r) { r.set_page_size(-1); }), bad, "page_size"},
      {list, "page_size 1001", With(l, [](auto& r) { r.set_page_size(1001); }), bad, "page_size"},
      {list, "page_size INT32_MAX",
       With(l, [](auto& r) { r.set_page_size(std::numeric_limits<int32_t>::max()); }), bad,
       "page_size"},
      {list, "page_size INT32_MIN",
       With(l, [](auto& r) { r.set_page_size(std::numeric_limits<int32_t>::min()); }), bad,
       "page_size"},
      {list, "garbage page_token", With(l, [](auto& r) { r.set_page_token("!!not a token!!"); }),
       bad, "page_token"},
      {list, "page_token of ListRecharges",
       With(l, [&](auto& r) { r.set_page_token(setup.recharges_page_token); }), bad, "page_token"},
      {list, "512 KiB page_token",
       With(l, [](auto& r) { r.set_page_token(std::string(512 << 10, 'A')); }), bad, "page_token"},
      {list, "status 7",
       With(l, [](auto& r) { r.set_status(static_cast<v1::CallerId::Status>(7)); }), bad, "status"},
      {list, "letters in the callback_number search",
       With(l, [](auto& r) { r.set_callback_number("55a"); }), bad, "callback_number"},
      {list, "512 KiB extension",
       With(l, [](auto& r) { r.set_extension(std::string(512 << 10, '1')); }), bad, "extension"},
      {"CallerIds/SetExtensionPolicy", "empty request", "", bad, "extension"},
      {"CallerIds/SetExtensionPolicy", "space in extension", LengthField(1, "01 00"), bad,
       "extension"},
      {"CallerIds/SetExtensionPolicy", "negative min_credit_to_call",
       LengthField(1, "0100") + LengthField(3, "-1"), bad, "min_credit_to_call"},
      {"CallerIds/GetLicenseUsage", "space in extension", LengthField(1, "01 00"), bad,
       "extension"},
  };
  for (const char* amount : kBadAmounts) {
    if (*amount == '\0') continue;  // an empty min_credit_to_call means none
    rows.push_back({"CallerIds/SetExtensionPolicy",
                    absl::StrCat("min_credit_to_call \"", amount, "\""),
                    LengthField(1, "0100") + LengthField(3, amount), bad, "min_credit_to_call"});
  }
  return rows;
}

std::vector<Row> CreditRows(const WireSetup& setup) {
  const StatusCode bad = StatusCode::INVALID_ARGUMENT;
  const std::string add = "Credit/AddCredit";
  const std::string list = "Credit/ListRecharges";
  v1::AddCreditRequest c;
  c.set_callerid_id(setup.callerid_id);
  c.set_amount("1");
  v1::ListRechargesRequest l;
  l.set_callerid_id(setup.callerid_id);
  std::vector<Row> rows = {
      {add, "empty request", "", bad, "callerid_id"},
      {add, "no amount", With(c, [](auto& r) { r.clear_amount(); }), bad, "amount"},
      {add, "amount 0", With(c, [](auto& r) { r.set_amount("0"); }), bad, "amount"},
      {add, "extension without callback_number",
       With(c,
            [](auto& r) {
              r.clear_callerid_id();
              r.set_extension("0100");
            }),
       bad, "callback_number"},
      {add, "description of 257 bytes",
       With(c, [](auto& r) { r.set_description(std::string(257, 'd')); }), bad, "description"},
      {add, "512 KiB description",
       With(c, [](auto& r) { r.set_description(std::string(512 << 10, 'd')); }), bad,
       "description"},
      {add, "request_id with a control character",
       With(c, [](auto& r) { r.set_request_id("a\tb"); }), bad, "request_id"},
      {add, "callerid_id with another CallerID's callback_number",
       With(c, [](auto& r) { r.set_callback_number("5550002"); }), bad, "callback_number"},
      {add, "callerid_id with a malformed extension",
       With(c, [](auto& r) { r.set_extension("01 00"); }), bad, "extension"},
      {add, "unknown callerid_id", With(c, [](auto& r) { r.set_callerid_id(kUint64Max); }),
       StatusCode::NOT_FOUND, "callerid"},
      {list, "empty request", "", bad, "callerid_id"},
      {list, "page_size -5", With(l, [](auto& r) { r.set_page_size(-5); }), bad, "page_size"},
      {list, "page_size 100000", With(l, [](auto& r) { r.set_page_size(100000); }), bad,
       "page_size"},
      {list, "garbage page_token", With(l, [](auto& r) { r.set_page_token("%%%"); }), bad,
       "page_token"},
      {list, "page_token of ListCallerIds",
       With(l, [&](auto& r) { r.set_page_token(setup.callerids_page_token); }), bad, "page_token"},
      {list, "unknown callerid_id", With(l, [](auto& r) { r.set_callerid_id(kUint64Max); }),
       StatusCode::NOT_FOUND, "callerid_id"},
  };
  for (const char* amount : kBadAmounts) {
    rows.push_back({add, absl::StrCat("amount \"", amount, "\""),
                    With(c, [&](auto& r) { r.set_amount(amount); }), bad, "amount"});
  }
  return rows;
}

std::vector<Row> AuthorizeRows(const WireSetup& setup) {
  const StatusCode bad = StatusCode::INVALID_ARGUMENT;
  const std::string authorize = "Calls/Authorize";
  v1::AuthorizeRequest au;
  au.set_extension("0100");
  au.set_callback_number("5550001");
  return {
      {authorize, "empty request", "", bad, "extension"},
      {authorize, "no callback_number", With(au, [](auto& r) { r.clear_callback_number(); }), bad,
       "callback_number"},
      {authorize, "letters in pin", With(au, [](auto& r) { r.set_pin("abcd"); }), bad, "pin"},
      {authorize, "rate without price_per_minute",
       With(au, [](auto& r) { r.mutable_rate()->set_billing_increment_seconds(60); }), bad,
       "rate.price_per_minute"},
      {authorize, "rate.price_per_minute \"1e400\"",
       With(au, [](auto& r) { r.mutable_rate()->set_price_per_minute("1e400"); }), bad,
       "rate.price_per_minute"},
      {authorize, "rate.connect_fee overflows",
       With(au,
            [](auto& r) {
              r.mutable_rate()->set_price_per_minute("1");
              r.mutable_rate()->set_connect_fee("99999999999999999999");
            }),
       bad, "rate.connect_fee"},
      {authorize, "rate.billing_increment_seconds UINT32_MAX",
       With(au,
            [](auto& r) {
              r.mutable_rate()->set_price_per_minute("1");
              r.mutable_rate()->set_billing_increment_seconds(std::numeric_limits<uint32_t>::max());
            }),
       bad, "rate.billing_increment_seconds"},
  };
}

std::vector<Row> ReserveRows(const WireSetup& setup) {
  const StatusCode bad = StatusCode::INVALID_ARGUMENT;
  const std::string reserve = "Calls/Reserve";
  v1::ReserveRequest re;
  re.set_reservation_id("r-new");
  re.set_extension("0100");
  re.set_callback_number("5550001");
  re.set_amount("1");
  re.set_ttl_seconds(60);
  re.set_node_id("node-1");
  std::vector<Row> rows = {
      {reserve, "empty request", "", bad, "reservation_id"},
      {reserve, "no reservation_id", With(re, [](auto& r) { r.clear_reservation_id(); }), bad,
       "reservation_id"},
      {reserve, "space in reservation_id", With(re, [](auto& r) { r.set_reservation_id("r 1"); }),
       bad, "reservation_id"},
      {reserve, "reservation_id of 129 bytes",
       With(re, [](auto& r) { r.set_reservation_id(std::string(129, 'r')); }), bad,
       "reservation_id"},
      {reserve, "no extension", With(re, [](auto& r) { r.clear_extension(); }), bad, "extension"},
      {reserve, "no amount and no seconds", With(re, [](auto& r) { r.clear_amount(); }), bad,
       "amount"},
      {reserve, "amount above one day-long call at the highest rate",
       With(re, [](auto& r) { r.set_amount("1441000000.000001"); }), bad, "amount"},
      {reserve, "ttl_seconds 86401", With(re, [](auto& r) { r.set_ttl_seconds(86401); }), bad,
       "ttl_seconds"},
      {reserve, "ttl_seconds UINT32_MAX",
       With(re, [](auto& r) { r.set_ttl_seconds(std::numeric_limits<uint32_t>::max()); }), bad,
       "ttl_seconds"},
      {reserve, "seconds UINT64_MAX",
       With(re,
            [](auto& r) {
              r.clear_amount();
              r.mutable_rate()->set_price_per_minute("1");
              r.set_seconds(kUint64Max);
            }),
       bad, "seconds"},
      {reserve, "seconds without a rate",
       With(re,
            [](auto& r) {
              r.clear_amount();
              r.set_seconds(60);
            }),
       bad, "seconds"},
      {reserve, "destination of 65 bytes",
       With(re, [](auto& r) { r.set_destination(std::string(65, '5')); }), bad, "destination"},
      {reserve, "512 KiB call_id",
       With(re, [](auto& r) { r.set_call_id(std::string(512 << 10, 'c')); }), bad, "call_id"},
      {reserve, "node_id just under the message limit",
       With(re, [](auto& r) { r.set_node_id(std::string(kServerMessageLimit - 1024, 'n')); }), bad,
       "node_id"},
  };
  for (const char* amount : kBadAmounts) {
    if (*amount == '\0') continue;  // an empty amount means "by seconds": a row above
    rows.push_back({reserve, absl::StrCat("amount \"", amount, "\""),
                    With(re, [&](auto& r) { r.set_amount(amount); }), bad, "amount"});
  }
  return rows;
}

std::vector<Row> CallsEndRows(const WireSetup& setup) {
  const StatusCode bad = StatusCode::INVALID_ARGUMENT;
  const std::string extend = "Calls/Extend";
  const std::string settle = "Calls/Settle";
  const std::string release = "Calls/Release";
  const std::string sync = "Calls/SyncReservations";
  v1::ExtendRequest ex;
  ex.set_reservation_id(setup.reservation_id);
  ex.set_amount("1");
  v1::SettleRequest se;
  se.set_reservation_id(setup.reservation_id);
  se.set_cost("0.5");
  v1::SyncReservationsRequest too_many;
  too_many.set_node_id("node-1");
  for (int i = 0; i < 10001; ++i) too_many.add_reservation_ids(absl::StrCat("r", i));
  return {
      {extend, "empty request", "", bad, "reservation_id"},
      {extend, "negative amount", With(ex, [](auto& r) { r.set_amount("-1"); }), bad, "amount"},
      {extend, "amount overflows", With(ex, [](auto& r) { r.set_amount("99999999999999999999"); }),
       bad, "amount"},
      {extend, "amount above one day-long call at the highest rate",
       With(ex, [](auto& r) { r.set_amount("1441000000.000001"); }), bad, "amount"},
      {extend, "seconds UINT64_MAX",
       With(ex,
            [](auto& r) {
              r.clear_amount();
              r.set_seconds(kUint64Max);
            }),
       bad, "seconds"},
      {extend, "ttl_seconds 86401", With(ex, [](auto& r) { r.set_ttl_seconds(86401); }), bad,
       "ttl_seconds"},
      {extend, "amount and seconds", With(ex, [](auto& r) { r.set_seconds(60); }), bad, "amount"},
      {extend, "unknown reservation_id", With(ex, [](auto& r) { r.set_reservation_id("r-none"); }),
       StatusCode::NOT_FOUND, "reservation_id"},
      {settle, "empty request", "", bad, "reservation_id"},
      {settle, "negative cost", With(se, [](auto& r) { r.set_cost("-0.01"); }), bad, "cost"},
      {settle, "cost \"1e400\"", With(se, [](auto& r) { r.set_cost("1e400"); }), bad, "cost"},
      {settle, "cost overflows", With(se, [](auto& r) { r.set_cost("9223372036854.775808"); }), bad,
       "cost"},
      {settle, "cost above one day-long call at the highest rate",
       With(se, [](auto& r) { r.set_cost("1441000000.000001"); }), bad, "cost"},
      {settle, "duration_seconds UINT64_MAX",
       With(se, [](auto& r) { r.set_duration_seconds(kUint64Max); }), bad, "duration_seconds"},
      {settle, "started_at INT64_MAX seconds",
       With(se,
            [](auto& r) {
              r.mutable_started_at()->set_seconds(std::numeric_limits<int64_t>::max());
            }),
       bad, "started_at"},
      {settle, "started_at negative",
       With(se, [](auto& r) { r.mutable_started_at()->set_seconds(-5); }), bad, "started_at"},
      {settle, "started_at nanos -1",
       With(se,
            [](auto& r) {
              r.mutable_started_at()->set_seconds(1700000000);
              r.mutable_started_at()->set_nanos(-1);
            }),
       bad, "started_at"},
      {settle, "unknown reservation_id", With(se, [](auto& r) { r.set_reservation_id("r-none"); }),
       StatusCode::NOT_FOUND, "reservation_id"},
      {release, "empty request", "", bad, "reservation_id"},
      {release, "space in node_id", LengthField(1, setup.reservation_id) + LengthField(2, "node 1"),
       bad, "node_id"},
      {release, "unknown reservation_id", LengthField(1, "r-none"), StatusCode::NOT_FOUND,
       "reservation_id"},
      {sync, "empty request", "", bad, "node_id"},
      {sync, "10001 reservation_ids", too_many.SerializeAsString(), bad, "reservation_ids"},
      {sync, "an empty reservation_id", LengthField(1, "node-1") + LengthField(2, ""), bad,
       "reservation_ids"},
  };
}

std::vector<Row> ReportsAndEventsRows(const WireSetup& setup) {
  const StatusCode bad = StatusCode::INVALID_ARGUMENT;
  const std::string report = "Reports/GetCostReport";
  const std::string read = "Events/ReadEvents";
  v1::GetCostReportRequest r;
  r.set_extension("0100");
  return {
      {report, "empty request", "", bad, "extension"},
      {report, "page_size -1", With(r, [](auto& q) { q.set_page_size(-1); }), bad, "page_size"},
      {report, "page_size 1001", With(r, [](auto& q) { q.set_page_size(1001); }), bad, "page_size"},
      {report, "start_time nanos -1",
       With(r, [](auto& q) { q.mutable_start_time()->set_nanos(-1); }), bad, "start_time"},
      {report, "end_time INT64_MAX seconds",
       With(
           r,
           [](auto& q) { q.mutable_end_time()->set_seconds(std::numeric_limits<int64_t>::max()); }),
       bad, "end_time"},
      {report, "end_time before start_time",
       With(r,
            [](auto& q) {
              q.mutable_start_time()->set_seconds(2000);
              q.mutable_end_time()->set_seconds(1000);
            }),
       bad, "end_time"},
      {report, "garbage page_token", With(r, [](auto& q) { q.set_page_token("@@@"); }), bad,
       "page_token"},
      {report, "page_token of ListCallerIds",
       With(r, [&](auto& q) { q.set_page_token(setup.callerids_page_token); }), bad, "page_token"},
      {report, "unknown callerid_id", With(r, [](auto& q) { q.set_callerid_id(kUint64Max); }),
       StatusCode::NOT_FOUND, "callerid_id"},
      {report, "callerid_id of another extension",
       With(r,
            [&](auto& q) {
              q.set_extension("0200");
              q.set_callerid_id(setup.callerid_id);
            }),
       bad, "extension"},
      {read, "from_sequence UINT64_MAX: an empty page", VarintField(1, kUint64Max), StatusCode::OK,
       ""},
      // A varint wider than a 32-bit field is cut to its low 32 bits by protobuf.
      {"CallerIds/ListCallerIds", "page_size 2^32 + 5 reads as 5",
       VarintField(4, (uint64_t{1} << 32) + 5), StatusCode::OK, ""},
      {"Calls/Reserve", "ttl_seconds 2^32 + 86401 reads as 86401",
       LengthField(1, "r-new") + LengthField(2, "0100") + LengthField(3, "5550001") +
           LengthField(4, "1") + VarintField(7, (uint64_t{1} << 32) + 86401),
       bad, "ttl_seconds"},
      {read, "page_size -1", VarintField(2, kMinusOne), bad, "page_size"},
      {read, "page_size 1001", VarintField(2, 1001), bad, "page_size"},
      {read, "page_size INT32_MIN", VarintField(2, static_cast<uint64_t>(int64_t{INT32_MIN})), bad,
       "page_size"},
  };
}

// Every RPC, with the number of one of its string fields (0: it has none).
struct RpcField {
  const char* rpc;
  int string_field;
};
constexpr RpcField kEveryRpc[] = {
    {"CallerIds/AddCallerId", 1},
    {"CallerIds/UpdateCallerId", 3},
    {"CallerIds/RemoveCallerIds", 0},
    {"CallerIds/GetCallerId", 3},
    {"CallerIds/ListCallerIds", 1},
    {"CallerIds/SetExtensionPolicy", 1},
    {"CallerIds/GetLicenseUsage", 1},
    {"Credit/AddCredit", 2},
    {"Credit/ListRecharges", 3},
    {"Calls/Authorize", 1},
    {"Calls/Reserve", 1},
    {"Calls/Extend", 1},
    {"Calls/Settle", 1},
    {"Calls/Release", 1},
    {"Calls/SyncReservations", 1},
    {"Reports/GetCostReport", 1},
    {"Events/ReadEvents", 0},
    {"Events/WatchEvents", 0},
};

// Bytes that are not a request at all, and a request above the server's size limit, for
// every RPC: gRPC answers before any code of the server sees them.
constexpr char kNotParsed[] = "request: not a valid callbackledger.v1.";

std::vector<Row> FramingRows() {
  // gRPC parses the request before any code of ledgerd runs; the C++ callback API answers
  // a request it cannot parse UNIMPLEMENTED with an empty message (grpcpp's
  // server_callback_handlers.h), which ledgerd's parse-error interceptor turns into
  // INVALID_ARGUMENT naming the request type (server/parse_errors.h).
  const StatusCode unparsable = StatusCode::INVALID_ARGUMENT;
  std::vector<Row> rows;
  for (const RpcField& rpc : kEveryRpc) {
    const int field = rpc.string_field != 0 ? rpc.string_field : 1;
    const std::string whole = LengthField(field, "0100");
    rows.insert(rows.end(),
                {{rpc.rpc, "garbage bytes", "\xff\xff\xff\xff\xff", unparsable, kNotParsed},
                 {rpc.rpc, "truncated length-delimited field", whole.substr(0, whole.size() - 2),
                  unparsable, kNotParsed},
                 {rpc.rpc, "wire type 7", "\x0f\x01", unparsable, kNotParsed},
                 {rpc.rpc, "unmatched end-group tag", "\x0c", unparsable, kNotParsed},
                 {rpc.rpc, "field number 0", VarintField(0, 1), unparsable, kNotParsed},
                 {rpc.rpc, "message above the 1 MiB limit",
                  LengthField(field, std::string(kServerMessageLimit + 1024, '1')),
                  StatusCode::RESOURCE_EXHAUSTED, ""}});
    if (rpc.string_field != 0) {
      rows.push_back({rpc.rpc, "invalid UTF-8 in a string field",
                      LengthField(rpc.string_field, "01\xff\xfe"), unparsable, kNotParsed});
      rows.push_back({rpc.rpc, "a UTF-16 surrogate encoded in UTF-8",
                      LengthField(rpc.string_field, "\xed\xa0\x80"), unparsable, kNotParsed});
    }
  }
  rows.push_back({"CallerIds/RemoveCallerIds", "truncated varint in packed ids",
                  LengthField(1, "\x05\xff"), unparsable, kNotParsed});
  return rows;
}

}  // namespace

std::vector<Row> MalformedRequests(const WireSetup& setup) {
  std::vector<Row> rows;
  for (auto part : {CallerIdsRows, CallerIdsReadRows, CreditRows, AuthorizeRows, ReserveRows,
                    CallsEndRows, ReportsAndEventsRows}) {
    std::vector<Row> more = part(setup);
    rows.insert(rows.end(), more.begin(), more.end());
  }
  std::vector<Row> framing = FramingRows();
  rows.insert(rows.end(), framing.begin(), framing.end());
  return rows;
}

}  // namespace e2e
}  // namespace callbackledger
