// The rows of a CallerID import file (`ledgerctl import`) on any bytes: the first record is
// the header, the others rows, read with the CSV reader. Asserts, for every row the
// checks accept: each field of the request passes the server's own validation (extension,
// number, PIN, non-negative credit or unlimited, order number, status); the request id is
// "import-" and 32 hex digits, a valid request_id, the same on a second parse, and
// independent of the PIN; for every row they refuse: a printable reason and no request id.
// (A header's error may quote an unknown column name as written.)
#include <cstddef>
#include <cstdint>
#include <string>

#include "clients/ledgerctl/import.h"
#include "fuzz/csv_reader.h"
#include "fuzz/property.h"
#include "ledger/money.h"
#include "ledger/validate.h"

namespace callbackledger {
namespace {

constexpr char kDefaultExtension[] = "100";

bool IsRequestIdOfImport(const std::string& id) {
  if (id.size() != 7 + 32 || id.compare(0, 7, "import-") != 0) return false;
  return id.find_first_not_of("0123456789abcdef", 7) == std::string::npos;
}

void CheckAccepted(const v1::AddCallerIdRequest& request, const ctl::ImportHeader& header,
                   const std::vector<std::string>& fields, const std::string& input) {
  PROPERTY(ValidateExtension(request.extension()).ok(), input);
  PROPERTY(ValidateCallbackNumber("n", request.callback_number()).ok(), input);
  PROPERTY(request.pin().empty() || ValidatePin(request.pin()).ok(), input);
  PROPERTY(ValidateText("o", request.order_no(), kMaxOrderNoLength).ok(), input);
  if (request.unlimited()) {
    PROPERTY(request.initial_credit().empty(), input);
  } else if (!request.initial_credit().empty()) {
    absl::StatusOr<int64_t> credit = ParseMoney("c", request.initial_credit());
    PROPERTY(credit.ok() && *credit >= 0, input);
  }
  PROPERTY(request.status() == v1::CallerId::ENABLED || request.status() == v1::CallerId::DISABLED,
           input);
  PROPERTY(IsRequestIdOfImport(request.request_id()), input);
  PROPERTY(ValidateRequestId(request.request_id()).ok(), input);

  v1::AddCallerIdRequest again;
  PROPERTY(ctl::ParseImportRow(header, fields, kDefaultExtension, &again).empty(), input);
  PROPERTY(again.request_id() == request.request_id(), input);
  again.clear_pin();
  PROPERTY(ctl::ImportRequestId(again) == request.request_id(), input);
}

}  // namespace
}  // namespace callbackledger

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace callbackledger;  // NOLINT(build/namespaces): a fuzz target's entry point
  const std::string input(reinterpret_cast<const char*>(data), size);
  const CsvFile file = ReadCsv(input);
  ctl::ImportHeader header;
  bool have_header = false;
  for (const ctl::CsvRow& row : file.rows) {
    if (row.blank() || !row.error.empty()) continue;
    if (!have_header) {
      const std::string error = ctl::ParseImportHeader(row.fields, kDefaultExtension, &header);
      PROPERTY(IsPrintableAscii(error) || error.find("unknown column") != std::string::npos, input);
      if (!error.empty()) return 0;
      have_header = true;
      continue;
    }
    v1::AddCallerIdRequest request;
    const std::string problems =
        ctl::ParseImportRow(header, row.fields, kDefaultExtension, &request);
    if (problems.empty()) {
      CheckAccepted(request, header, row.fields, input);
    } else {
      PROPERTY(IsPrintableAscii(problems), input);
      PROPERTY(request.request_id().empty(), input);
    }
  }
  return 0;
}
