// Decoding of the event log on any bytes, as Store::ReadEvents decodes a stored event,
// then everything that reads a decoded event without the projector's invariants: the
// Events service's public view, the answers a retry replays from the log (AddCallerId,
// AddCredit) and the idempotency key. ApplyEvent is not fuzzed: it checks every event
// against the state (LEDGER_CHECK) and stops the process on an impossible one, by design.
// Asserts: a decoded event encodes to bytes that decode to the same event; the public view
// keeps no PIN material and no request fingerprint and changes nothing else; every amount
// a view shows parses back to the event's micros.
#include <cstddef>
#include <cstdint>
#include <string>

#include "callbackledger/v1/events.pb.h"
#include "fuzz/property.h"
#include "google/protobuf/stubs/logging.h"
#include "ledger/money.h"
#include "ledger/views.h"
#include "projections/projector.h"

namespace callbackledger {
namespace {

constexpr int kDecimals = 2;

void CheckAmount(const std::string& shown, int64_t micros, const std::string& input) {
  absl::StatusOr<int64_t> parsed = ParseMoney("amount", shown);
  PROPERTY(parsed.ok() && *parsed == micros, input);
}

void CheckPublic(const v1::Event& event, const std::string& input) {
  v1::Event shown = PublicEvent(event);
  PROPERTY(shown.request_fingerprint().empty(), input);
  PROPERTY(shown.caller_id_added().pin().ByteSizeLong() == 0, input);
  PROPERTY(shown.caller_id_updated().pin().ByteSizeLong() == 0, input);
  // Nothing but PIN material and the fingerprint is taken out.
  v1::Event expected = event;
  expected.clear_request_fingerprint();
  if (expected.has_caller_id_added()) expected.mutable_caller_id_added()->clear_pin();
  if (expected.has_caller_id_updated()) expected.mutable_caller_id_updated()->clear_pin();
  if (event.caller_id_added().has_pin()) expected.mutable_caller_id_added()->mutable_pin();
  if (event.caller_id_updated().has_pin()) expected.mutable_caller_id_updated()->mutable_pin();
  PROPERTY(shown.SerializeAsString() == expected.SerializeAsString(), input);
}

void CheckViews(const v1::Event& event, const std::string& input) {
  if (event.has_caller_id_added()) {
    const v1::CallerIdAdded& added = event.caller_id_added();
    const v1::CallerId view = AddedCallerIdView(event, kDecimals);
    PROPERTY(view.id() == added.callerid_id(), input);
    PROPERTY(view.pin_set() == !added.pin().hash().empty(), input);
    if (!added.unlimited()) CheckAmount(view.credit_left(), added.initial_credit_micros(), input);
  }
  if (event.has_credit_added()) {
    const v1::CreditAdded& credit = event.credit_added();
    const v1::Recharge view = CreditAddedView(event, kDecimals);
    PROPERTY(view.id() == event.sequence(), input);
    if (!credit.unlimited()) CheckAmount(view.credit_left(), credit.credit_left_micros(), input);
  }
  // Only these events carry a request_id; the projector refuses one on any other.
  if (event.has_caller_id_added() || event.has_credit_added() || event.has_reservation_extended()) {
    const std::string key = IdempotencyKeyFor(event);
    PROPERTY(key.size() > event.request_id().size(), input);
    PROPERTY(key.compare(key.size() - event.request_id().size(), std::string::npos,
                         event.request_id()) == 0,
             input);
  }
}

}  // namespace
}  // namespace callbackledger

// Invalid UTF-8 in a string field is logged by protobuf at every input: quiet.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace callbackledger;  // NOLINT(build/namespaces): a fuzz target's entry point
  const std::string input(reinterpret_cast<const char*>(data), size);
  v1::Event event;
  if (!event.ParseFromArray(data, static_cast<int>(size))) return 0;  // a DataLossError
  const std::string encoded = event.SerializeAsString();
  v1::Event again;
  PROPERTY(again.ParseFromString(encoded), input);
  PROPERTY(again.SerializeAsString() == encoded, input);
  CheckPublic(event, input);
  CheckViews(event, input);
  return 0;
}
