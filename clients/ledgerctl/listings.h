// The listings of ledgerctl (CallerIDs, recharges, the cost report, events): their
// columns, their rows as typed cells, and the loops that fetch them page by page into a
// sink. `list`, `recharges`, `cost-report`, `events` and `export` share them.
#ifndef CALLBACKLEDGER_CLIENTS_LEDGERCTL_LISTINGS_H_
#define CALLBACKLEDGER_CLIENTS_LEDGERCTL_LISTINGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "callbackledger/v1/events.pb.h"
#include "callbackledger/v1/reports.pb.h"
#include "clients/ledgerctl/common.h"
#include "clients/ledgerctl/progress.h"
#include "clients/ledgerctl/sink.h"

namespace callbackledger {
namespace ctl {

// How a listing is shaped for its sink.
struct ListingStyle {
  // A table for people: the columns that matter most, durations as m:ss.
  bool table = false;
  // "unlimited" in credit cells (table, workbook) rather than empty (CSV, as the API).
  bool unlimited_text = false;
  // The `unlimited` column (CSV and workbook; a table says it in the credit cells).
  bool unlimited_column = true;
  // The `extension` column (left out of a table of one extension).
  bool extension_column = true;
};

// The page size of every listing: the API's largest.
inline constexpr int kPageSize = 1000;

std::vector<Column> CallerIdColumns(const Globals& globals, const ListingStyle& style);
std::vector<Cell> CallerIdCells(const v1::CallerId& caller_id, const ListingStyle& style);

std::vector<Column> RechargeColumns(const Globals& globals, const ListingStyle& style);
std::vector<Cell> RechargeCells(const v1::Recharge& recharge, const ListingStyle& style);

std::vector<Column> CallColumns(const Globals& globals, const ListingStyle& style);
std::vector<Cell> CallCells(const v1::CallRecord& call, const ListingStyle& style);

// `people`: for a table, with the request id among the details.
std::vector<Column> EventColumns(bool people);
std::vector<Cell> EventCells(const v1::Event& event, bool people);
// One line about an event body: "id=1 extension=0003*005 number=+40721000111 ...".
std::string EventDetails(const v1::Event& event);
// The body's name: "caller_id_added".
std::string EventType(const v1::Event& event);

// Fetches every CallerID matching `request` (page by page; page_size and page_token are
// set here) into `sink`, at most `limit` rows (0: all). Counts rows in `*rows` and the
// matches in `*total` (ListCallerIds' total_size). Returns an exit code; errors are
// printed as `command`'s.
int ListCallerIdsInto(const std::string& command, const Globals& globals,
                      const Connection& connection, v1::ListCallerIdsRequest request,
                      const ListingStyle& style, uint64_t limit, RowSink* sink, Progress* progress,
                      uint64_t* rows, uint64_t* total);

// The recharge history of one CallerID, newest first.
int ListRechargesInto(const std::string& command, const Globals& globals,
                      const Connection& connection, v1::ListRechargesRequest request,
                      const ListingStyle& style, uint64_t limit, RowSink* sink, Progress* progress,
                      uint64_t* rows);

// The cost report, then its totals. `*totals` gets the first page's totals.
int CostReportInto(const std::string& command, const Globals& globals, const Connection& connection,
                   v1::GetCostReportRequest request, const ListingStyle& style, RowSink* sink,
                   Progress* progress, uint64_t* rows, v1::GetCostReportResponse* totals);

}  // namespace ctl
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_CLIENTS_LEDGERCTL_LISTINGS_H_
