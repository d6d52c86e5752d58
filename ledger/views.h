// Builds the API's messages from the state and the stored rows, with money formatted in
// the server's decimals.
#ifndef CALLBACKLEDGER_LEDGER_VIEWS_H_
#define CALLBACKLEDGER_LEDGER_VIEWS_H_

#include "callbackledger/store/v1/store.pb.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "callbackledger/v1/events.pb.h"
#include "projections/state.h"

namespace callbackledger {

v1::CallerId CallerIdView(const CallerIdState& callerid, int decimals);
// The CallerID as its CallerIdAdded event made it (the answer to AddCallerId, also when
// a retry replays it).
v1::CallerId AddedCallerIdView(const v1::Event& event, int decimals);
v1::Recharge RechargeView(const store::v1::RechargeRow& row, int decimals);
// The recharge recorded by a CreditAdded event (the answer to AddCredit).
v1::Recharge CreditAddedView(const v1::Event& event, int decimals);
v1::ExtensionPolicy ExtensionPolicyView(const std::string& extension, const ExtensionState& e,
                                        int decimals);
// An event as the Events service shows it: without PIN material.
v1::Event PublicEvent(v1::Event event);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_LEDGER_VIEWS_H_
