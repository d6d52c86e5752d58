#include "clients/bench/audit.h"

#include <chrono>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "clients/bench/pbx_phases.h"
#include "clients/channel.h"
#include "ledger/money.h"

namespace callbackledger::bench {
namespace {

constexpr int kPageSize = 1000;

// What an index's CallerID is called in a message.
std::string Name(int index, int extensions) {
  return absl::StrCat(NumberOf(index), " in ", ExtensionOf(index % extensions));
}

std::string Money(absl::int128 micros) { return FormatMoneyTotal(micros, 2); }

}  // namespace

std::optional<int> BenchIndexOf(std::string_view extension, std::string_view number, int callerids,
                                int extensions) {
  // NumberOf: "+4070" and eight digits.
  constexpr std::string_view kPrefix = "+4070";
  if (number.size() != kPrefix.size() + 8 || number.substr(0, kPrefix.size()) != kPrefix) {
    return std::nullopt;
  }
  const std::string_view digits = number.substr(kPrefix.size());
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  int index = 0;
  if (!absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()), &index) ||
      index >= callerids) {
    return std::nullopt;
  }
  if (extension != ExtensionOf(index % extensions)) return std::nullopt;
  return index;
}

absl::StatusOr<CreditLeft> ReadCreditLeft(v1::CallerIds::Stub* stub, int callerids, int extensions,
                                          double rpc_timeout_seconds) {
  CreditLeft credit;
  credit.micros.assign(static_cast<size_t>(callerids), std::nullopt);
  credit.unlimited.assign(static_cast<size_t>(callerids), false);
  v1::ListCallerIdsRequest request;
  request.set_page_size(kPageSize);
  do {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(
                         std::chrono::duration<double>(rpc_timeout_seconds)));
    v1::ListCallerIdsResponse page;
    grpc::Status status = stub->ListCallerIds(&ctx, request, &page);
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "ListCallerIds: ", StatusCodeName(status.error_code()), " ", status.error_message()));
    }
    for (const v1::CallerId& callerid : page.caller_ids()) {
      std::optional<int> index =
          BenchIndexOf(callerid.extension(), callerid.callback_number(), callerids, extensions);
      if (!index.has_value()) continue;
      if (callerid.unlimited()) {
        credit.unlimited[static_cast<size_t>(*index)] = true;
        continue;
      }
      absl::StatusOr<int64_t> micros = ParseMoney("credit_left", callerid.credit_left());
      if (!micros.ok()) {
        return absl::InternalError(absl::StrCat(Name(*index, extensions),
                                                ": ListCallerIds answered a credit_left that "
                                                "is not money: ",
                                                micros.status().message()));
      }
      credit.micros[static_cast<size_t>(*index)] = *micros;
    }
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  return credit;
}

Charges::Charges(int callerids)
    : micros_(new std::atomic<int64_t>[static_cast<size_t>(callerids)]) {
  for (int i = 0; i < callerids; ++i) micros_[static_cast<size_t>(i)].store(0);
}

void Charges::Add(int index, std::string_view cost) {
  absl::StatusOr<int64_t> micros = ParseMoney("cost", cost);
  if (!micros.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (unreadable_.empty()) {
      unreadable_ =
          absl::StrCat("a Settle answered a cost that is not money: ", micros.status().message());
    }
    return;
  }
  micros_[static_cast<size_t>(index)].fetch_add(*micros);
}

std::string Charges::unreadable() const {
  std::lock_guard<std::mutex> lock(mu_);
  return unreadable_;
}

AuditResult Audit(const CreditLeft& before, const CreditLeft& after, const Charges& charges,
                  int extensions) {
  AuditResult result;
  result.first_mismatch = charges.unreadable();
  auto mismatch = [&](int index, const std::string& what) {
    ++result.mismatches;
    if (result.first_mismatch.empty()) {
      result.first_mismatch = absl::StrCat(Name(index, extensions), ": ", what);
    }
  };
  const size_t count = before.micros.size();
  for (size_t i = 0; i < count; ++i) {
    const int index = static_cast<int>(i);
    const int64_t charged = charges.of(index);
    if (before.unlimited[i] && after.unlimited[i]) {
      ++result.unlimited;
      continue;
    }
    const bool listed_before = before.micros[i].has_value() || before.unlimited[i];
    const bool listed_after = after.micros[i].has_value() || after.unlimited[i];
    if (!listed_before && !listed_after && charged == 0) {
      ++result.absent;
      continue;
    }
    if (!before.micros[i].has_value() || !after.micros[i].has_value()) {
      mismatch(index, !listed_before  ? "not there before the calls"
                      : !listed_after ? "gone after the calls"
                                      : "turned unlimited, or limited, during the calls");
      continue;
    }
    ++result.callerids;
    result.charged += charged;
    const int64_t fell = *before.micros[i] - *after.micros[i];
    result.credit_fell_by += fell;
    if (fell != charged) {
      mismatch(index, absl::StrCat("credit left ", Money(*before.micros[i]), " before the calls, ",
                                   Money(*after.micros[i]), " after, but the Settles charged ",
                                   Money(charged)));
    } else if (*after.micros[i] < 0) {
      mismatch(index, absl::StrCat("credit left below zero: ", Money(*after.micros[i])));
    }
  }
  return result;
}

}  // namespace callbackledger::bench
