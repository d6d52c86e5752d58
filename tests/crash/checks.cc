#include "tests/crash/checks.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "callbackledger/v1/caller_ids.pb.h"
#include "callbackledger/v1/calls.pb.h"
#include "callbackledger/v1/common.pb.h"
#include "callbackledger/v1/credit.pb.h"
#include "callbackledger/v1/events.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "tests/crash/operations.h"

namespace callbackledger::crash_test {
namespace {

// A reservation as the log tells it: whose, what it holds, whether that counts against the
// credit, whether it is still open.
struct Hold {
  uint64_t callerid_id = 0;
  int64_t held = 0;
  bool counted = false;
  bool open = true;
};

}  // namespace

using ::absl::StrCat;
using ::google::protobuf::util::MessageDifferencer;

bool Checker::ReadLog(Client* client, int round) {
  round_ = round;
  by_request_.clear();
  opened_.clear();
  closed_.clear();
  events_.clear();
  uint64_t last = 0;
  while (true) {
    v1::ReadEventsResponse page;
    grpc::Status status = client->ReadEvents(events_.size() + 1, &page);
    if (!status.ok()) {
      Violation(StrCat("ReadEvents failed: ", status.error_message()));
      return false;
    }
    last = page.last_sequence();
    for (const v1::Event& event : page.events()) {
      if (event.sequence() != events_.size() + 1) {
        Violation(
            StrCat("gap in the log: sequence ", event.sequence(), " follows ", events_.size()));
        return false;
      }
      events_.push_back(event);
    }
    if (page.events().empty() || events_.size() >= last) break;
  }
  if (events_.size() != last) {
    Violation(
        StrCat("ReadEvents returned ", events_.size(), " events but last_sequence is ", last));
  }
  // The log only grows: what an earlier check read of it is unchanged.
  if (events_.size() < seen_.size()) {
    Violation(StrCat("the log shrank from ", seen_.size(), " to ", events_.size(), " events"));
  }
  for (size_t i = 0; i < std::min(seen_.size(), events_.size()); ++i) {
    if (events_[i].SerializeAsString() != seen_[i]) {
      Violation(StrCat("event ", i + 1, " changed across a crash"));
      break;
    }
  }
  for (size_t i = seen_.size(); i < events_.size(); ++i) {
    seen_.push_back(events_[i].SerializeAsString());
  }
  for (const v1::Event& event : events_) {
    if (!event.request_id().empty()) by_request_[event.request_id()] = &event;
    if (event.has_reservation_opened()) {
      opened_[event.reservation_opened().reservation_id()] = &event;
    }
    if (event.has_reservation_settled()) {
      closed_[event.reservation_settled().reservation_id()] = &event;
    }
    if (event.has_reservation_released()) {
      closed_[event.reservation_released().reservation_id()] = &event;
    }
  }
  return true;
}

void Checker::CheckMoney() {
  money_.clear();
  std::map<std::string, Hold> holds;
  for (const v1::Event& event : events_) {
    const std::string at = StrCat("event ", event.sequence(), ": ");
    if (event.has_caller_id_added()) {
      const v1::CallerIdAdded& added = event.caller_id_added();
      Balance& money = money_[added.callerid_id()];
      money.unlimited = added.unlimited();
      money.recharges = added.unlimited() ? 0 : added.initial_credit_micros();
    } else if (event.has_credit_added()) {
      const v1::CreditAdded& credit = event.credit_added();
      Balance& money = money_[credit.callerid_id()];
      if (money.unlimited) continue;  // the test adds only limited CallerIDs
      money.recharges += credit.amount_micros();
      Expect(at, "credit_left", credit.credit_left_micros(), money.credit_left());
      Expect(at, "total_credit", credit.total_credit_micros(), money.recharges);
      Expect(at, "available_after", credit.available_after_micros(), money.available());
      NotNegative(at, money);
    } else if (event.has_reservation_opened()) {
      const v1::ReservationOpened& opened = event.reservation_opened();
      Hold& hold = holds[opened.reservation_id()];
      hold = Hold{opened.callerid_id(), opened.granted_micros(), opened.counted(), true};
      Balance& money = money_[opened.callerid_id()];
      ++money.open;
      if (!opened.counted()) continue;
      money.held += opened.granted_micros();
      Expect(at, "available_after", opened.available_after_micros(), money.available());
      NotNegative(at, money);
    } else if (event.has_reservation_extended()) {
      const v1::ReservationExtended& extended = event.reservation_extended();
      Hold& hold = holds[extended.reservation_id()];
      if (!hold.open) Violation(StrCat(at, "extends a closed reservation"));
      hold.held += extended.granted_micros();
      Expect(at, "held_after", extended.held_after_micros(), hold.held);
      if (!extended.counted()) continue;
      Balance& money = money_[hold.callerid_id];
      money.held += extended.granted_micros();
      Expect(at, "available_after", extended.available_after_micros(), money.available());
      NotNegative(at, money);
    } else if (event.has_reservation_settled() || event.has_reservation_released()) {
      const bool settled = event.has_reservation_settled();
      const std::string& id = settled ? event.reservation_settled().reservation_id()
                                      : event.reservation_released().reservation_id();
      Hold& hold = holds[id];
      Balance& money = money_[hold.callerid_id];
      const int64_t released = settled ? event.reservation_settled().released_micros()
                                       : event.reservation_released().released_micros();
      if (hold.open) {
        Expect(at, "released", released, hold.held);
        if (hold.counted) money.held -= hold.held;
        --money.open;
        hold.open = false;
      } else if (released != 0) {
        Violation(StrCat(at, "releases ", released, " of a closed reservation"));
      }
      if (money.unlimited) continue;
      if (settled) {
        const v1::ReservationSettled& s = event.reservation_settled();
        money.settled += s.cost_micros();
        if (s.cost_micros() < 0 || s.uncollected_micros() < 0) {
          Violation(StrCat(at, "negative cost or uncollected"));
        }
        Expect(at, "credit_left_after", s.credit_left_after_micros(), money.credit_left());
        Expect(at, "available_after", s.available_after_micros(), money.available());
      } else {
        Expect(at, "available_after", event.reservation_released().available_after_micros(),
               money.available());
      }
      NotNegative(at, money);
    } else if (event.has_caller_ids_removed()) {
      for (uint64_t id : event.caller_ids_removed().callerid_ids()) money_.erase(id);
    }
  }
}

void Checker::CheckCallerIds(Client* client) {
  for (const auto& [id, money] : money_) {
    v1::CallerId callerid;
    grpc::Status status = client->GetCallerId(id, &callerid);
    if (!status.ok()) {
      Violation(StrCat("GetCallerId(", id, "): ", status.error_message()));
      continue;
    }
    const std::string at = StrCat("CallerID ", id, ": ");
    if (callerid.unlimited() != money.unlimited) Violation(StrCat(at, "unlimited differs"));
    if (callerid.open_reservations() != money.open) {
      Violation(StrCat(at, "open_reservations ", callerid.open_reservations(), ", the log says ",
                       money.open));
    }
    if (money.unlimited) continue;
    Expect(at, "credit_left", Micros(callerid.credit_left()), money.credit_left());
    Expect(at, "available_credit", Micros(callerid.available_credit()), money.available());
    Expect(at, "held_credit", Micros(callerid.held_credit()), money.held);
    Expect(at, "total_credit", Micros(callerid.total_credit()), money.recharges);
  }
}

const v1::Event* Checker::FindEvent(const Operation& op) const {
  auto find = [](const std::map<std::string, const v1::Event*>& index,
                 const std::string& key) -> const v1::Event* {
    auto it = index.find(key);
    return it == index.end() ? nullptr : it->second;
  };
  switch (op.kind) {
    case Kind::kAddCallerId:
      return find(by_request_,
                  static_cast<const v1::AddCallerIdRequest&>(*op.request).request_id());
    case Kind::kAddCredit:
      return find(by_request_, static_cast<const v1::AddCreditRequest&>(*op.request).request_id());
    case Kind::kReserve:
      return find(opened_, static_cast<const v1::ReserveRequest&>(*op.request).reservation_id());
    case Kind::kExtend: {
      const auto& request = static_cast<const v1::ExtendRequest&>(*op.request);
      return find(by_request_, StrCat(request.reservation_id(), "/", request.request_id()));
    }
    case Kind::kSettle:
      return find(closed_, static_cast<const v1::SettleRequest&>(*op.request).reservation_id());
    case Kind::kRelease:
      return find(closed_, static_cast<const v1::ReleaseRequest&>(*op.request).reservation_id());
  }
  return nullptr;
}

void Checker::CheckAcknowledgedInLog(const std::vector<Operation>& ops) {
  for (const Operation& op : ops) {
    const v1::Event* event = FindEvent(op);
    if (event == nullptr) {
      Violation(StrCat("acknowledged in round ", op.round, " but not in the log: ", op.Describe()));
    } else if (!Agrees(op, *event)) {
      Violation(StrCat("acknowledged in round ", op.round, " as ", op.reply->ShortDebugString(),
                       " but the log has ", event->ShortDebugString()));
    }
  }
}

uint64_t Checker::Retry(Client* client, const std::vector<const Operation*>& ops) {
  std::optional<uint64_t> before = client->LastSequence();
  uint64_t same = 0;
  for (const Operation* op : ops) {
    Answer answer = client->Send(*op);
    if (!answer.status.ok()) {
      Violation(StrCat("retry of ", op->Describe(), " failed: ", answer.status.error_code(), " ",
                       answer.status.error_message()));
    } else if (!MessageDifferencer::Equals(*answer.reply, *op->reply)) {
      Violation(StrCat("retry of ", op->Describe(), " answered ", answer.reply->ShortDebugString(),
                       ", first answer ", op->reply->ShortDebugString()));
    } else {
      ++same;
    }
  }
  std::optional<uint64_t> after = client->LastSequence();
  if (!before.has_value() || !after.has_value() || *before != *after) {
    Violation(StrCat("retries of acknowledged operations moved last_sequence from ",
                     before.value_or(0), " to ", after.value_or(0)));
  }
  return same;
}

void Checker::Violation(const std::string& what) {
  violations_->Add(StrCat("round ", round_, ": ", what));
}

void Checker::Expect(const std::string& at, const char* what, int64_t actual, int64_t derived) {
  if (actual != derived) {
    Violation(StrCat(at, what, " is ", actual, " but the log gives ", derived));
  }
}

void Checker::NotNegative(const std::string& at, const Balance& money) {
  if (money.available() < 0) Violation(StrCat(at, "available credit ", money.available()));
}

bool Checker::Agrees(const Operation& op, const v1::Event& event) {
  switch (op.kind) {
    case Kind::kAddCallerId:
      return event.has_caller_id_added() && event.caller_id_added().callerid_id() ==
                                                static_cast<const v1::CallerId&>(*op.reply).id();
    case Kind::kAddCredit: {
      const auto& reply = static_cast<const v1::Recharge&>(*op.reply);
      return event.has_credit_added() && event.sequence() == reply.id() &&
             event.credit_added().amount_micros() == Micros(reply.amount());
    }
    case Kind::kReserve:
      return event.reservation_opened().granted_micros() ==
             Micros(static_cast<const v1::ReserveResponse&>(*op.reply).granted_amount());
    case Kind::kExtend:
      return event.has_reservation_extended() &&
             event.reservation_extended().granted_micros() ==
                 Micros(static_cast<const v1::ExtendResponse&>(*op.reply).granted_amount());
    case Kind::kSettle:
      return event.has_reservation_settled() &&
             event.reservation_settled().cost_micros() ==
                 Micros(static_cast<const v1::SettleResponse&>(*op.reply).cost());
    case Kind::kRelease:
      return event.has_reservation_released() &&
             event.reservation_released().released_micros() ==
                 Micros(static_cast<const v1::ReleaseResponse&>(*op.reply).released_amount());
  }
  return false;
}

}  // namespace callbackledger::crash_test
