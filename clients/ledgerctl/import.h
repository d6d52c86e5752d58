// Bulk import of CallerIDs from CSV: the local checks of a row (the server's rules) and the
// request id that makes re-runs idempotent. The command itself is in import.cc.
#ifndef CALLBACKLEDGER_CLIENTS_LEDGERCTL_IMPORT_H_
#define CALLBACKLEDGER_CLIENTS_LEDGERCTL_IMPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "callbackledger/v1/caller_ids.pb.h"

namespace callbackledger {
namespace ctl {

// The columns an import file may have, in the order of a template.
inline const std::vector<std::string>& ImportColumns() {
  static const std::vector<std::string>* const columns = new std::vector<std::string>{
      "extension", "callback_number", "pin", "initial_credit", "order_no", "status"};
  return *columns;
}

// Where each column is in the file (-1: absent).
struct ImportHeader {
  int extension = -1;
  int callback_number = -1;
  int pin = -1;
  int initial_credit = -1;
  int order_no = -1;
  int status = -1;
  size_t fields = 0;
};

// Reads the header row. `default_extension` stands in for a missing extension column.
// Returns "" or what is wrong with the header.
std::string ParseImportHeader(const std::vector<std::string>& fields,
                              const std::string& default_extension, ImportHeader* header);

// Checks one row with the server's rules and makes the AddCallerId request for it, with a
// request_id derived from the row. Returns "" or every problem of the row, joined by "; ".
std::string ParseImportRow(const ImportHeader& header, const std::vector<std::string>& fields,
                           const std::string& default_extension, v1::AddCallerIdRequest* request);

// The request id of a checked row: "import-" and 32 hex digits of a BLAKE2b hash of the
// normalized row (extension, number, credit in micros or unlimited, order number, status).
// The PIN is left out on purpose: request ids are shown by the Events service, and a hash
// over a 4-digit PIN and otherwise known fields would give the PIN away.
std::string ImportRequestId(const v1::AddCallerIdRequest& request);

}  // namespace ctl
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_CLIENTS_LEDGERCTL_IMPORT_H_
