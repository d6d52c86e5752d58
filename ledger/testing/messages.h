// Messages and matchers the ledger's tests share.
#ifndef LEDGER_TESTING_MESSAGES_H_
#define LEDGER_TESTING_MESSAGES_H_

#include <cstdint>
#include <string>

#include "callbackledger/v1/common.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"

namespace callbackledger::testing {

// Compares two messages field by field and prints the differences.
MATCHER_P(EqualsProto, expected, "") {
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(expected, arg)) return true;
  *result_listener << "differs: " << diff;
  return false;
}

// A rate as a request gives it: money as text, seconds as numbers (0: the defaults).
inline v1::Rate MakeRate(const std::string& fee, const std::string& price, uint32_t increment = 0,
                         uint32_t minimum = 0) {
  v1::Rate rate;
  rate.set_connect_fee(fee);
  rate.set_price_per_minute(price);
  rate.set_billing_increment_seconds(increment);
  rate.set_minimum_billed_seconds(minimum);
  return rate;
}

}  // namespace callbackledger::testing

#endif  // LEDGER_TESTING_MESSAGES_H_
